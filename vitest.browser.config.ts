import { defineConfig } from "vitest/config";

// The browser suite (`npm run test:browser`): the operator console in the system's Chromium against
// `npm start` on loopback. Kept out of `npm test`, which must run on a machine without a browser.
export default defineConfig({
  test: {
    name: "browser",
    include: ["test/browser/**/*.test.ts"],
    environment: "node",
    testTimeout: 90_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
