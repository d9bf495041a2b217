// Lets a forked child process `require` this repo's TypeScript sources directly: `.ts` files are
// transpiled on load with the project's own `typescript` (no type check), and the `.js` suffix of
// relative imports falls back to the `.ts` file next to it. Used only by multi-process tests.
const fs = require('node:fs');
const Module = require('node:module');
const ts = require('typescript');

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  try {
    return resolve.call(this, request, parent, ...rest);
  } catch (err) {
    if (request.startsWith('.') && request.endsWith('.js')) {
      return resolve.call(this, `${request.slice(0, -3)}.ts`, parent, ...rest);
    }
    throw err;
  }
};

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: {
      // Node16 emits CommonJS as `tsc -p .` does here, and keeps `import()` (handler-module.ts
      // imports handlers); ModuleKind.CommonJS would turn it into require().
      module: ts.ModuleKind.Node16,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      sourceMap: false,
    },
  });
  module._compile(outputText, filename);
};
