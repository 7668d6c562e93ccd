'use strict';

// Lambda's error shapes for Node.js functions: the Runtime.* errors AWS's runtime raises
// (their names and messages are what users search for), and the two ways an error is
// written: the JSON body posted to the Runtime API ({errorType, errorMessage, trace})
// and the tab-prefixed JSON that follows "Invoke Error" in the function's log.

const util = require('node:util');

function runtimeError(name) {
  const cls = class extends Error {};
  Object.defineProperty(cls, 'name', { value: name });
  cls.prototype.name = `Runtime.${name}`;
  return cls;
}

const ImportModuleError = runtimeError('ImportModuleError');
const HandlerNotFound = runtimeError('HandlerNotFound');
const MalformedHandlerName = runtimeError('MalformedHandlerName');
const UserCodeSyntaxError = runtimeError('UserCodeSyntaxError');

class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason); // (its message is String(reason): "Error: boom", as on AWS)
    this.reason = reason;
    this.promise = promise;
  }
}
UnhandledPromiseRejection.prototype.name = 'Runtime.UnhandledPromiseRejection';

// An async handler whose promise never settled, with nothing left to run.
class NodeJsExit extends Error {
  constructor() {
    super(
      'The Lambda runtime client detected an unexpected Node.js exit code. This is most ' +
        'commonly caused by a Promise that was never settled. For more information, see ' +
        'https://nodejs.org/docs/latest/api/process.html#exit-codes',
    );
  }
}
NodeJsExit.prototype.name = 'Runtime.NodeJsExit';

function intoError(value) {
  return value instanceof Error ? value : new Error(value);
}

function looksLikeError(value) {
  return (
    value &&
    typeof value.name === 'string' &&
    typeof value.message === 'string' &&
    typeof value.stack === 'string'
  );
}

// The body of POST .../error and .../init/error. Anything passed as an error that is
// not one (callback('oops')) is reported by its type, as AWS does.
function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || looksLikeError(error)) {
      return {
        errorType: error.name,
        errorMessage: error.message,
        trace: error.stack.split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one ' +
        'or more of its message, name, and stack',
    };
  }
}

// The log form: a tab, then the error as JSON with its own enumerable fields too.
function toFormatted(error) {
  const replacer = (_key, value) => {
    if (!(value instanceof Error)) return value;
    const out = { errorType: value.name, errorMessage: value.message, code: value.code };
    Object.assign(out, value);
    if (typeof value.stack === 'string') out.stack = value.stack.split('\n');
    return out;
  };
  try {
    return '\t' + JSON.stringify(error, replacer);
  } catch {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

module.exports = { ImportModuleError, HandlerNotFound, MalformedHandlerName, UserCodeSyntaxError, UnhandledPromiseRejection, NodeJsExit, intoError, toRapidResponse, toFormatted };
