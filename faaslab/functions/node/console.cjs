'use strict';

// console.* as Lambda's Node.js runtime writes it: one line per call, "timestamp \t
// request id \t LEVEL \t message", newlines inside a message turned into \r so that a
// stack trace stays one log record; JSON lines when AWS_LAMBDA_LOG_FORMAT is JSON, and
// levels below AWS_LAMBDA_LOG_LEVEL dropped.

const util = require('node:util');
const { intoError, toFormatted } = require('./errors.cjs');

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

// The request id of the invocation running now ("undefined" during init, as on AWS).
const REQUEST_ID = Symbol.for('aws.lambda.runtime.requestId');

function setRequestId(id) {
  globalThis[REQUEST_ID] = id;
}

function textLine(level, args) {
  const message = util.format(...args);
  return `${new Date().toISOString()}\t${globalThis[REQUEST_ID]}\t${level}\t${message}`;
}

function jsonError(_key, value) {
  if (!(value instanceof Error)) return value;
  const stack = typeof value.stack === 'string' ? value.stack.split('\n') : value.stack;
  return Object.assign(
    { errorType: value.constructor?.name ?? 'UnknownError', errorMessage: value.message, stackTrace: stack },
    value,
  );
}

function jsonLine(level, args) {
  const record = { timestamp: new Date().toISOString(), level, requestId: globalThis[REQUEST_ID] };
  if (args.length === 1) {
    record.message = args[0];
    try {
      return JSON.stringify(record, jsonError);
    } catch {
      record.message = util.format(args[0]);
      return JSON.stringify(record);
    }
  }
  record.message = util.format(...args);
  const error = args.find((a) => a instanceof Error);
  if (error !== undefined) {
    record.errorType = error.constructor?.name ?? 'UnknownError';
    record.errorMessage = error.message;
    record.stackTrace = typeof error.stack === 'string' ? error.stack.split('\n') : [];
  }
  return JSON.stringify(record);
}

let json = false;

function patchConsole() {
  json = (process.env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON';
  const format = json ? jsonLine : textLine;
  const wanted = (process.env.AWS_LAMBDA_LOG_LEVEL || 'TRACE').toUpperCase();
  const lowest = Math.max(0, LEVELS.indexOf(wanted));
  const write = (level) =>
    LEVELS.indexOf(level) >= lowest || level === 'FATAL'
      ? (...args) => {
          process.stdout.write(format(level, args).replace(/\n/g, '\r') + '\n');
        }
      : () => {};
  console.trace = write('TRACE');
  console.debug = write('DEBUG');
  console.info = write('INFO');
  console.log = console.info;
  console.warn = write('WARN');
  console.error = write('ERROR');
  console.fatal = write('FATAL');
}

// "Invoke Error", "Uncaught Exception", "Unhandled Promise Rejection" lines.
function logError(what, error) {
  if (json) console.error(intoError(error));
  else console.error(what, toFormatted(intoError(error)));
}

module.exports = { setRequestId, patchConsole, logError };
