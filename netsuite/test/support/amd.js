'use strict';
// Loads a SuiteScript AMD module (`define([...deps], factory)`) in Node, the way NetSuite's loader
// would: `N/...` dependencies come from the given mocks, relative ones (`./lib/x`) are loaded
// from disk the same way. The module runs in this realm (so its objects compare with
// assert.deepStrictEqual) but sees no `log`, `util` or other NetSuite globals: a script that
// relied on one without importing it fails here.

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const SCRIPTS = path.join(__dirname, '..', '..', 'src', 'FileCabinet', 'SuiteScripts', 'isthmus');

/**
 * @param {string} file path under SuiteScripts/isthmus, e.g. `isthmus_events_ue.js`
 * @param {Object<string, *>} mocks `N/...` module name → module object
 * @param {{globals?: Object<string, *>}} [options] names the module sees instead of the globals
 *   (e.g. a fixed `Date`)
 * @returns {*} what the module's factory returned
 */
function loadModule(file, mocks, options) {
    const globals = (options && options.globals) || {};
    const cache = new Map();

    function load(absolute) {
        if (cache.has(absolute)) {
            return cache.get(absolute);
        }
        const source = fs.readFileSync(absolute, 'utf8');
        const names = Object.keys(globals);
        const wrapper = vm.runInThisContext(
            '(function (define, ' + names.join(', ') + ') {' + source + '\n})',
            { filename: absolute },
        );
        let exported;
        let defined = 0;
        function define(deps, factory) {
            defined += 1;
            if (!Array.isArray(deps) || typeof factory !== 'function') {
                throw new Error(absolute + ': define([...], factory) expected');
            }
            const resolved = deps.map(function (dep) {
                if (dep.startsWith('N/')) {
                    if (!(dep in mocks)) {
                        throw new Error(absolute + ' needs ' + dep + ', which the test does not mock');
                    }
                    return mocks[dep];
                }
                if (dep.startsWith('./') || dep.startsWith('../')) {
                    if (dep.endsWith('.js')) {
                        throw new Error(absolute + ': SuiteScript module ids carry no .js: ' + dep);
                    }
                    return load(path.resolve(path.dirname(absolute), dep + '.js'));
                }
                throw new Error(absolute + ': unexpected module id ' + dep);
            });
            exported = factory.apply(null, resolved);
        }
        wrapper.apply(null, [define].concat(names.map(function (name) { return globals[name]; })));
        if (defined !== 1) {
            throw new Error(absolute + ' must call define exactly once');
        }
        cache.set(absolute, exported);
        return exported;
    }

    return load(path.join(SCRIPTS, file));
}

module.exports = { loadModule, SCRIPTS };
