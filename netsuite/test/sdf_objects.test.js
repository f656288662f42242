'use strict';
// The SDF project holds together: the object XML is well formed and names files, entry points
// and script parameters that exist; the User Event deployments cover exactly the record types the
// script sends. (NetSuite's own validation, `suitecloud project:validate`, needs an account.)

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { XMLParser, XMLValidator } = require('fast-xml-parser');

const { loadModule } = require('./support/amd');
const mocks = require('./support/netsuite_mocks');

const SRC = path.join(__dirname, '..', 'src');
const OBJECTS = path.join(SRC, 'Objects');

const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    parseTagValue: false,
    trimValues: true,
    isArray: (name) => ['scriptdeployment', 'scriptcustomfield', 'path', 'feature'].includes(name),
});

function readXml(file) {
    const text = fs.readFileSync(file, 'utf8');
    const valid = XMLValidator.validate(text);
    assert.equal(valid, true, file + ': ' + JSON.stringify(valid));
    return parser.parse(text);
}

function objects() {
    return fs.readdirSync(OBJECTS).filter((f) => f.endsWith('.xml')).map((file) => {
        const doc = readXml(path.join(OBJECTS, file));
        const kind = Object.keys(doc)[0];
        return { file, kind, object: doc[kind] };
    });
}

/** `[/SuiteScripts/…]` → the file in the project's File Cabinet. */
function scriptFile(reference) {
    const match = /^\[\/(SuiteScripts\/[^\]]+\.js)\]$/.exec(reference);
    assert.ok(match, 'scriptfile reference ' + reference);
    return path.join(SRC, 'FileCabinet', match[1]);
}

function allMocks() {
    const vault = {};
    return {
        'N/https': mocks.httpsModule(vault),
        'N/crypto': mocks.cryptoModule(vault),
        'N/encode': mocks.encodeModule(),
        'N/runtime': mocks.runtimeModule({}),
        'N/log': mocks.logModule(),
        'N/record': mocks.recordModule(),
        'N/query': mocks.queryModule(() => []),
        'N/error': mocks.errorModule(),
    };
}

const SCRIPT_TYPES = { usereventscript: 'UserEventScript', restlet: 'Restlet' };
const ENTRY_FIELDS = {
    usereventscript: { beforeloadfunction: 'beforeLoad', beforesubmitfunction: 'beforeSubmit', aftersubmitfunction: 'afterSubmit' },
    restlet: { getfunction: 'get', postfunction: 'post', putfunction: 'put', deletefunction: 'delete' },
};

describe('the SDF project', () => {
    it('is an account customization project that needs server-side scripting', () => {
        const manifest = readXml(path.join(SRC, 'manifest.xml')).manifest;
        assert.equal(manifest['@_projecttype'], 'ACCOUNTCUSTOMIZATION');
        assert.ok(manifest.dependencies.features.feature.some((f) => f['#text'] === 'SERVERSIDESCRIPTING'));
    });

    it('deploys the isthmus SuiteScripts folder and every object', () => {
        const deploy = readXml(path.join(SRC, 'deploy.xml')).deploy;
        assert.deepEqual(deploy.files.path, ['~/FileCabinet/SuiteScripts/isthmus/*']);
        assert.deepEqual(deploy.objects.path, ['~/Objects/*']);
        assert.ok(fs.statSync(path.join(SRC, 'FileCabinet', 'SuiteScripts', 'isthmus')).isDirectory());
    });

    it('holds the User Event script and the RESTlet', () => {
        assert.deepEqual(objects().map((o) => o.file).sort(),
            ['customscript_isthmus_summary_rl.xml', 'customscript_isthmus_ue_events.xml']);
    });

    for (const { file, kind, object } of objects()) {
        describe(file, () => {
            it('is named by its script id, within 40 characters', () => {
                assert.ok(kind in SCRIPT_TYPES, 'object kind ' + kind);
                assert.equal(object['@_scriptid'] + '.xml', file);
                assert.match(object['@_scriptid'], /^customscript[0-9a-z_]+$/);
                assert.ok(object['@_scriptid'].length <= 40);
                assert.ok(object.name.length > 0 && object.name.length <= 40);
            });

            it('points at a SuiteScript 2.1 file of its script type', () => {
                const source = fs.readFileSync(scriptFile(object.scriptfile), 'utf8');
                assert.match(source, /@NApiVersion 2\.1\b/);
                assert.match(source, new RegExp('@NScriptType ' + SCRIPT_TYPES[kind] + '\\b'));
                assert.match(source, /@NModuleScope SameAccount\b/);
            });

            it('names entry points the script returns, and every one it returns', () => {
                const relative = path.relative(path.join(SRC, 'FileCabinet', 'SuiteScripts', 'isthmus'), scriptFile(object.scriptfile));
                const module = loadModule(relative, allMocks());
                const named = Object.entries(ENTRY_FIELDS[kind])
                    .filter(([field]) => object[field])
                    .map(([field, entry]) => {
                        assert.equal(object[field], entry, field);
                        return entry;
                    });
                assert.ok(named.length > 0);
                assert.deepEqual(Object.keys(module).sort(), named.sort());
                named.forEach((entry) => assert.equal(typeof module[entry], 'function', entry));
            });

            it('declares exactly the script parameters the script reads', () => {
                const source = fs.readFileSync(scriptFile(object.scriptfile), 'utf8');
                const read = [...new Set(source.match(/custscript_[a-z0-9_]+/g) || [])].sort();
                const fields = (object.scriptcustomfields && object.scriptcustomfields.scriptcustomfield) || [];
                const declared = fields.map((f) => f['@_scriptid']).sort();
                assert.deepEqual(declared, read);
                for (const field of fields) {
                    assert.ok(field['@_scriptid'].length <= 40, field['@_scriptid']);
                    assert.ok(['TEXT', 'CHECKBOX'].includes(field.fieldtype), field['@_scriptid']);
                    assert.ok(field.label.length > 0 && field.label.length <= 200);
                    if (field.fieldtype === 'TEXT' && field.defaultvalue) {
                        assert.ok(source.includes("'" + field.defaultvalue + "'"),
                            field['@_scriptid'] + ' default ' + field.defaultvalue + ' is the script\'s own default');
                    }
                }
            });

            it('has released deployments with unique ids within 40 characters', () => {
                const deployments = object.scriptdeployments.scriptdeployment;
                assert.ok(deployments.length > 0);
                const ids = deployments.map((d) => d['@_scriptid']);
                assert.equal(new Set(ids).size, ids.length);
                for (const deployment of deployments) {
                    assert.match(deployment['@_scriptid'], /^customdeploy_isthmus_[0-9a-z_]+$/);
                    assert.ok(deployment['@_scriptid'].length <= 40, deployment['@_scriptid']);
                    assert.equal(deployment.status, 'RELEASED');
                    assert.equal(deployment.isdeployed, 'T');
                }
            });
        });
    }

    it('deploys the User Event script on exactly the record types it sends', () => {
        const ue = objects().find((o) => o.kind === 'usereventscript').object;
        const deployed = ue.scriptdeployments.scriptdeployment.map((d) => d.recordtype.toLowerCase()).sort();
        assert.equal(deployed.length, 11);
        for (const deployment of ue.scriptdeployments.scriptdeployment) {
            assert.equal(deployment['@_scriptid'], 'customdeploy_isthmus_ue_' + deployment.recordtype.toLowerCase());
            assert.equal(deployment.allroles, 'T', 'every role\'s saves are seen');
        }
        // Which record.Type values the script actually sends.
        const sent = [];
        const vault = { custsecret_isthmus_hmac: 's', custsecret_isthmus_api_key: 'k' };
        const https = mocks.httpsModule(vault, (request) => {
            sent.push(JSON.parse(request.body).record_type);
            return { code: 202, body: '' };
        });
        const record = mocks.recordModule();
        const script = loadModule('isthmus_events_ue.js', Object.assign(allMocks(), {
            'N/https': https,
            'N/crypto': mocks.cryptoModule(vault),
            'N/runtime': mocks.runtimeModule({ params: { custscript_isthmus_gateway_url: 'https://gw.example.com' } }),
            'N/record': record,
        }));
        Object.values(record.Type).forEach((type) => script.afterSubmit({ type: 'edit', newRecord: { type, id: 1 }, oldRecord: { type, id: 1 } }));
        assert.deepEqual(sent.sort(), deployed);
    });
});
