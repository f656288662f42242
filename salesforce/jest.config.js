// Jest for the Lightning web components' unit tests (force-app/**/lwc/*/__tests__), with
// sfdx-lwc-jest's preset: its resolver maps lightning/* to the base component stubs and c/* to
// the components of the sfdx-project.json in the working directory. .ci/salesforce-check runs it
// from this directory, with NODE_PATH at the tools it installs in .tooling/.
const path = require("node:path");
const { jestConfig } = require("@salesforce/sfdx-lwc-jest/config");

module.exports = {
    ...jestConfig,
    rootDir: __dirname,
    roots: ["<rootDir>/force-app"],
    // The tools live in .tooling/node_modules, not in a node_modules next to the tests.
    modulePaths: [path.join(__dirname, ".tooling", "node_modules")],
    testPathIgnorePatterns: ["/node_modules/", "/\\.tooling/"],
    testEnvironment: require.resolve("jest-environment-jsdom")
};
