// ESLint (flat config) for the Lightning web components, with Salesforce's recommended LWC rules.
// .ci/salesforce-check installs the tools into .tooling/ and runs ESLint with NODE_PATH there, on the
// components and on their Jest tests (__tests__), which the recommended rules know (jest globals and rules).
const lwcConfig = require("@salesforce/eslint-config-lwc");

module.exports = [
    { ignores: [".tooling/**", "tooling/**", "eslint.config.js", "jest.config.js"] },
    ...lwcConfig.configs.recommended,
    { files: ["force-app/**/lwc/**/*.js"] }
];
