'use strict';

// Loading the function's handler from _HANDLER as AWS's Node.js runtime does:
// "dir/sub/module.export.nested" is module "module" in LAMBDA_TASK_ROOT/dir/sub, and the
// export path "export.nested" in it. The module is tried as an extensionless file,
// then .js (CommonJS, unless the nearest package.json says "type": "module"), .mjs,
// .cjs; last as a package name resolved from the task root (NODE_PATH included).

const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');
const { pathToFileURL } = require('node:url');
const {
  HandlerNotFound,
  ImportModuleError,
  MalformedHandlerName,
  UserCodeSyntaxError,
} = require('./errors.cjs');

// require() as AWS's runtime calls it: from /var/runtime/index.mjs, the file a
// MODULE_NOT_FOUND's "Require stack" names there.
const userRequire = createRequire('/var/runtime/index.mjs');

function splitHandler(fullHandler) {
  if (fullHandler.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandler}' is not a valid handler name. Use absolute paths when specifying ` +
        'root directories in handler names.',
    );
  }
  const base = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(base));
  const match = base.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new MalformedHandlerName('Bad handler');
  return [moduleRoot, match[1], match[2]];
}

function requireIfExists(file) {
  return fs.existsSync(file) ? userRequire(file) : undefined;
}

async function importIfExists(file) {
  return fs.existsSync(file) ? await import(pathToFileURL(file).href) : undefined;
}

// Whether the nearest package.json above `dir` says "type": "module" (a node_modules
// directory ends the search, as does the root).
function typeModule(dir) {
  for (;;) {
    if (dir.endsWith('/node_modules')) return false;
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        return JSON.parse(fs.readFileSync(manifest, 'utf8'))?.type === 'module';
      } catch (e) {
        console.warn(
          `${manifest} cannot be read, it will be ignored for ES module detection purposes.`,
          e,
        );
        return false;
      }
    }
    if (dir === '/') return false;
    dir = path.dirname(dir);
  }
}

async function loadModule(taskRoot, moduleRoot, name) {
  const base = path.resolve(taskRoot, moduleRoot, name);
  const extensionless = requireIfExists(base);
  if (extensionless) return extensionless;
  const esm = fs.existsSync(base + '.js') && typeModule(path.dirname(base + '.js'));
  if (!esm) {
    const cjs = requireIfExists(base + '.js');
    if (cjs) return cjs;
  }
  const loaded =
    (esm && (await importIfExists(base + '.js'))) ||
    (await importIfExists(base + '.mjs')) ||
    requireIfExists(base + '.cjs');
  if (loaded) return loaded;
  return userRequire(userRequire.resolve(name, { paths: [taskRoot, moduleRoot] }));
}

// AWS's runtime gives modules a global `awslambda` for response streaming, which
// faaslab does not emulate: using it fails at once and says so, rather than with
// "awslambda is not defined".
function refuseStreaming() {
  throw new Error(
    'faaslab does not emulate response streaming (awslambda.streamifyResponse, ' +
      'InvokeWithResponseStream): return the whole response instead',
  );
}

async function loadHandler(taskRoot, fullHandler) {
  const [moduleRoot, name, exportPath] = splitHandler(fullHandler);
  if (!['1', 'true'].includes(process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA)) {
    globalThis.awslambda = {
      streamifyResponse: refuseStreaming,
      HttpResponseStream: { from: refuseStreaming },
    };
  }
  let app;
  try {
    app = await loadModule(taskRoot, moduleRoot, name);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e?.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(e);
    throw e;
  }
  const handler = exportPath.split('.').reduce((obj, key) => obj && obj[key], app);
  if (!handler) throw new HandlerNotFound(`${fullHandler} is undefined or not exported`);
  if (typeof handler !== 'function') throw new HandlerNotFound(`${fullHandler} is not a function`);
  return handler;
}

module.exports = { loadHandler };
