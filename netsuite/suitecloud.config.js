// SuiteCloud CLI project settings: the SDF account customization project lives in src/.
// Deploy with `suitecloud project:deploy` from this folder (see README.md).
module.exports = {
    defaultProjectFolder: 'src',
    commands: {},
};
