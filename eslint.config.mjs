// Lint: ESLint's and typescript-eslint's recommended rules over the host, client, tests and
// scripts; generated code and build output are not ours to lint. `.only` fails the run.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const focused = ['describe', 'it', 'test'].map((object) => ({
  object,
  property: 'only',
  message: 'A focused test hides the rest of the suite.',
}));

export default tseslint.config(
  { ignores: ['gen/**', 'dist/**', 'bench/out/**', 'test-artifacts/**', 'coverage/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      globals: {
        process: 'readonly', Buffer: 'readonly', console: 'readonly', require: 'readonly', module: 'writable',
        exports: 'writable', __dirname: 'readonly', __filename: 'readonly', setTimeout: 'readonly',
        clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly',
        clearImmediate: 'readonly', performance: 'readonly', URL: 'readonly', global: 'readonly',
        queueMicrotask: 'readonly', structuredClone: 'readonly', AbortController: 'readonly', fetch: 'readonly',
        TextEncoder: 'readonly', TextDecoder: 'readonly', document: 'readonly', window: 'readonly',
      },
    },
    rules: {
      'no-restricted-properties': ['error', ...focused],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unsafe-function-type': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
);
