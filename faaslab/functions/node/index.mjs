// faaslab's Node.js runtime: a Lambda Runtime API client written for faaslab, behaving
// as AWS's Node.js runtime does (its handler loading, context object, callback rules,
// log lines and error shapes). The control plane runs it as
//   node --max-semi-space-size=… --max-old-space-size=… index.mjs
// with the flags of AWS's /var/runtime/bootstrap (functions/runtimes.py: NodeJs).
//
// Init: load the handler named by _HANDLER from LAMBDA_TASK_ROOT; an error there is
// logged as "Uncaught Exception", posted to /init/error, and the process exits, as on
// AWS. Then the loop: GET next -> handler -> POST response | error.

import { logError, patchConsole } from './console.mjs';
import { UnhandledPromiseRejection } from './errors.mjs';
import { Runtime, onBeforeExit } from './invoke.mjs';
import { loadHandler } from './loader.mjs';
import { RuntimeApi } from './rapid.mjs';

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

let handler;
try {
  handler = await loadHandler(process.env.LAMBDA_TASK_ROOT || '/var/task', process.env._HANDLER || '');
} catch (error) {
  logError('Uncaught Exception', error);
  fatal.current(error, 129);
}
if (handler !== undefined) {
  if (handler.length === 3 && handler.constructor?.name !== 'AsyncFunction') {
    if (process.env.AWS_LAMBDA_NODEJS_DISABLE_CALLBACK_WARNING === undefined) {
      console.warn(
        'AWS Lambda plans to remove support for callback-based function handlers starting with ' +
          'Node.js 24. You will need to update this function to use an async handler to use ' +
          'Node.js 24 or later. For more information and to provide feedback on this change, see ' +
          'https://github.com/aws/aws-lambda-nodejs-runtime-interface-client/issues/137. To ' +
          'disable this warning, set the AWS_LAMBDA_NODEJS_DISABLE_CALLBACK_WARNING environment ' +
          'variable.',
      );
    }
  }
  new Runtime(api, handler, fatal).schedule();
}
