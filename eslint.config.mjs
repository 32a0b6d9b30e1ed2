// ESLint (flat config): typescript-eslint's recommended rules over src/, test/, migrations/, bench/ and console/, with
// Prettier owning formatting (eslint-config-prettier turns the stylistic rules off). `npm run lint` runs it, the
// Prettier check and the folder import-cycle check (dependency-cruiser, .dependency-cruiser.cjs).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**', 'src/metadata.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        Buffer: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        fetch: 'readonly',
        URL: 'readonly',
        AbortSignal: 'readonly',
        Response: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Provider payloads are `unknown` until normalised; `any` is allowed only where a test pokes at JSON.
      '@typescript-eslint/no-explicit-any': 'off',
      'no-control-regex': 'off',
    },
  },
  // The web console runs in the browser: TypeScript (console/tsconfig.json, lib DOM) checks its names.
  { files: ['console/**/*.{ts,tsx,mts}'], rules: { 'no-undef': 'off' } },
);
