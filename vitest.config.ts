import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing running; `integration` gets real Kafka, registry, PostgreSQL and
// Prometheus from test/infra/global-setup.ts (env vars → Docker → local processes).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**', 'node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/infra/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // One file at a time: the services are shared and the machine has 2 cores.
          fileParallelism: false,
        },
      },
    ],
  },
});
