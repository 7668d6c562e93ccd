'use strict';

// The invocation loop and what a handler gets: the event, the context object and the
// callback, with AWS's rules for when an invocation is over:
// - an async handler (or one returning a promise): when the promise settles;
// - callback(err, result): when the event loop is empty afterwards, unless
//   context.callbackWaitsForEmptyEventLoop was set to false (then at once);
// - context.succeed / fail / done: at once;
// - a non-async handler that never calls back: null once the event loop is empty.
// The first of these counts; later ones are ignored.

const { logError, setRequestId } = require('./console.cjs');
const { NodeJsExit } = require('./errors.cjs');

// What runs when the event loop empties ('beforeExit'): the pending completion, if any.
let beforeExit = () => {};
function onBeforeExit() {
  beforeExit();
}

function callbackContext(api, id, next) {
  let reported = false;
  const report = (result) => {
    if (reported) {
      console.error(
        'Invocation has already been reported as done. Cannot call complete more than once per invocation.',
      );
      return;
    }
    reported = true;
    api.postResponse(id, result, next);
  };
  const postError = (err) => {
    logError('Invoke Error', err);
    api.postError(id, err, next);
  };
  let waitForEmptyEventLoop = true;

  const callback = (err, result) => {
    beforeExit = () => {};
    if (err !== undefined && err !== null) postError(err);
    else if (!waitForEmptyEventLoop) report(result);
    else beforeExit = () => setImmediate(() => report(result));
  };
  const done = (err, result) => {
    beforeExit = () => {};
    if (err !== undefined && err !== null) postError(err);
    else report(result);
  };
  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: (result) => done(null, result),
    fail: (err) => (err === undefined || err === null ? done('handled') : done(err, null)),
    done,
  };
  // only the first of callback / succeed / fail / done counts
  let finished = false;
  const once = (f) =>
    function (...args) {
      if (!finished) {
        f(...args);
        finished = true;
      }
    };
  for (const name of ['succeed', 'fail', 'done']) context[name] = once(context[name]);
  return [once(callback), context, () => (reported = true)];
}

function parseJson(text, name) {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

function contextData(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const env = process.env;
  return {
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parseJson(headers['lambda-runtime-client-context'], 'ClientContext'),
    identity: parseJson(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
}

class Runtime {
  // `fatal` receives (error, exit code) for an uncaught exception or rejection: the
  // caller reports it for the invocation running now.
  constructor(api, handler, fatal) {
    this.api = api;
    this.handler = handler;
    this.fatal = fatal;
    this.isAsync = handler.constructor?.name === 'AsyncFunction';
    this.schedule = () => setImmediate(() => this.once().catch((err) => this.broken(err)));
  }

  broken(err) {
    console.log(`Unexpected Top Level Error: ${err.toString()}`);
    this.fatal.current(err, 129);
  }

  async once() {
    const { body, headers } = await this.api.next();
    const id = headers['lambda-runtime-aws-request-id'];
    setRequestId(id);
    const trace = headers['lambda-runtime-trace-id'];
    if (trace) process.env._X_AMZN_TRACE_ID = trace;
    else delete process.env._X_AMZN_TRACE_ID;

    const [callback, context, markReported] = callbackContext(this.api, id, this.schedule);
    this.fatal.current = (error, code) =>
      this.api.postError(id, error, () => process.exit(code), true);
    beforeExit = () => {
      markReported();
      if (this.isAsync) {
        const error = new NodeJsExit();
        logError('Invoke Error', error);
        this.api.postError(id, error, this.schedule);
      } else {
        this.api.postResponse(id, null, this.schedule);
      }
    };
    try {
      const result = this.handler(
        JSON.parse(body),
        Object.assign(context, contextData(headers)),
        callback,
      );
      if (result && typeof result.then === 'function') {
        result.then(context.succeed, context.fail).catch(context.fail);
      }
    } catch (err) {
      callback(err);
    }
  }
}

module.exports = { onBeforeExit, Runtime };
