import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native addon: each test file in its own process, so one crash cannot take the others down.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
