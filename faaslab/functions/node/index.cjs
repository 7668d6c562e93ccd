'use strict';

// faaslab's Node.js runtime: a Lambda Runtime API client written for faaslab, behaving
// as AWS's Node.js runtime does (its handler loading, context object, callback rules,
// log lines and error shapes). The control plane runs it as
//   node --max-semi-space-size=… --max-old-space-size=… index.cjs
// with the flags of AWS's /var/runtime/bootstrap (functions/runtimes.py: NodeJs).
// CommonJS, not ES modules: Node.js 20 loads these files ~20 ms sooner so (its ES module
// loader then starts only for a function that is an ES module), a third of its bare start.
//
// Init: load the handler named by _HANDLER from LAMBDA_TASK_ROOT; an error there is
// logged as "Uncaught Exception", posted to /init/error, and the process exits, as on
// AWS. Then the loop: GET next -> handler -> POST response | error.

const { logError, patchConsole } = require('./console.cjs');
const { UnhandledPromiseRejection } = require('./errors.cjs');
const { Runtime, onBeforeExit } = require('./invoke.cjs');
const { loadHandler } = require('./loader.cjs');
const { RuntimeApi } = require('./rapid.cjs');

patchConsole();
const api = new RuntimeApi(process.env.AWS_LAMBDA_RUNTIME_API);

// Until the first invocation an uncaught error is an init error; then, the current
// invocation's (Runtime replaces `current`). Either way the process exits afterwards.
const fatal = { current: (error, code) => api.postInitError(error, () => process.exit(code)) };

process.on('uncaughtException', (error) => {
  logError('Uncaught Exception', error);
  fatal.current(error, 129);
});
process.on('unhandledRejection', (reason, promise) => {
  const error = new UnhandledPromiseRejection(reason, promise);
  logError('Unhandled Promise Rejection', error);
  fatal.current(error, 128);
});
process.on('beforeExit', onBeforeExit);

async function main() {
  let handler;
  try {
    handler = await loadHandler(
      process.env.LAMBDA_TASK_ROOT || '/var/task',
      process.env._HANDLER || '',
    );
  } catch (error) {
    logError('Uncaught Exception', error);
    if (/'@aws-sdk\//.test(String(error?.message))) {
      // (on AWS this import works: say why it does not here, not just that it failed)
      console.error(
        "faaslab: Lambda's Node.js runtimes include the AWS SDK for JavaScript v3 " +
          "(@aws-sdk/* in /var/runtime/node_modules); faaslab's does not: add the clients " +
          'your function imports to its package.json dependencies',
      );
    }
    fatal.current(error, 129);
    return;
  }
  if (
    handler.length === 3 &&
    handler.constructor?.name !== 'AsyncFunction' &&
    process.env.AWS_LAMBDA_NODEJS_DISABLE_CALLBACK_WARNING === undefined
  ) {
    console.warn(
      'AWS Lambda plans to remove support for callback-based function handlers starting with ' +
        'Node.js 24. You will need to update this function to use an async handler to use ' +
        'Node.js 24 or later. For more information and to provide feedback on this change, see ' +
        'https://github.com/aws/aws-lambda-nodejs-runtime-interface-client/issues/137. To ' +
        'disable this warning, set the AWS_LAMBDA_NODEJS_DISABLE_CALLBACK_WARNING environment ' +
        'variable.',
    );
  }
  new Runtime(api, handler, fatal).schedule();
}

main();
