// Lint: typescript-eslint's recommended rules, plus the project's one structural rule — kafkajs is spoken
// only where Kafka is spoken (kafka/, publish/, sink/, the test harness), so it stays swappable.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.infra/**', 'dist/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: [{ name: 'kafkajs', message: 'kafkajs belongs in src/kafka/, src/publish/kafkajs-*.ts, src/sink/kafkajs-*.ts or the test harness only.' }] }],
    },
  },
  {
    files: ['src/kafka/**', 'src/publish/kafkajs-*.ts', 'src/sink/kafkajs-*.ts', 'src/infra/**', 'test/**', 'bench/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
