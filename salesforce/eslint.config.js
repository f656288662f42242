// ESLint (flat config) for the Lightning web components, with Salesforce's recommended LWC rules.
// .ci/salesforce-check installs the tools into .tooling/ and runs ESLint with NODE_PATH there.
const lwcConfig = require("@salesforce/eslint-config-lwc");

module.exports = [
    { ignores: [".tooling/**", "tooling/**", "eslint.config.js"] },
    ...lwcConfig.configs.recommended,
    { files: ["force-app/**/lwc/**/*.js"] }
];
