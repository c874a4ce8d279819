import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.kopitra/**', 'ea/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Tests read JSON responses loosely; the schemas are what they check.
    files: ['**/*.test.ts', '**/src/testing/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Tables are read and written only in packages/server/src/store/, through named functions
    // (dependency-cruiser sees imports, not calls, so this is the half of the rule it cannot
    // check). The bus and notifier adapters own their own tables (the embedded bus log, the
    // LISTEN connection) and are swapped whole for a broker; tests read tables to check them.
    files: ['packages/**/*.{ts,tsx}'],
    ignores: [
      'packages/server/src/store/**',
      'packages/server/src/bus/**',
      'packages/server/src/notify/**',
      'packages/server/src/testing/**',
      '**/*.test.ts',
    ],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'CallExpression[callee.property.name=/^(selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto)$/]',
          message: 'Tables are touched only in packages/server/src/store/: add a named function there.',
        },
        {
          selector: "TaggedTemplateExpression[tag.name='sql'], CallExpression[callee.object.name='sql']",
          message: 'SQL is written only in packages/server/src/store/: add a named function there.',
        },
      ],
    },
  },
);
