/**
 * The fixed shape of the simulated company until users/pipelines/stages get stores of their own:
 * who the token's user is, which users exist, and which stages belong to which pipeline.
 */
export const ACCOUNT = {
  /** The user the API token belongs to: creator of deals added through the API. */
  tokenUserId: 1,
  userIds: [1, 2, 3, 4, 5],
  defaultCurrency: 'USD',
  /** pipeline id → its stage ids in order. */
  pipelines: new Map<number, number[]>([
    [1, [1, 2, 3, 4, 5]],
    [2, [6, 7, 8, 9]],
  ]),
} as const;

export function pipelineOfStage(stageId: number): number | undefined {
  for (const [pipelineId, stages] of ACCOUNT.pipelines) if (stages.includes(stageId)) return pipelineId;
  return undefined;
}

export function firstStageOf(pipelineId: number): number | undefined {
  return ACCOUNT.pipelines.get(pipelineId)?.[0];
}
