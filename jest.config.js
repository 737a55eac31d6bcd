/** Tests run from TypeScript sources; `tsc` (npm's prepare step) does the type check. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  // Model tests run whole networks on a 2-core CPU; a limit only has to catch hangs.
  testTimeout: 600000,
};
