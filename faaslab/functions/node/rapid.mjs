// The Lambda Runtime API client: HTTP/1.1 to AWS_LAMBDA_RUNTIME_API over one keep-alive
// connection (node:http's Agent with one socket, as AWS's runtime keeps one). A fresh
// connection per call would cost a TCP handshake each time, twice per invoke.

import http from 'node:http';
import { toRapidResponse } from './errors.mjs';

const BASE = '/2018-06-01/runtime';

export class RuntimeApi {
  constructor(address) {
    const [host, port] = address.split(':');
    this.host = host;
    this.port = Number(port);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  // The next invocation: {body (string), headers (lower-case names)}.
  next() {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: this.host, port: this.port, path: `${BASE}/invocation/next`, agent: this.agent },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  // Throws when the result cannot be serialised (the caller reports that as the error).
  postResponse(id, result, done) {
    const body = serialise(result === undefined ? null : result);
    this._post(`${BASE}/invocation/${encodeURIComponent(id)}/response`, body, {}, done);
  }

  postError(id, error, done) {
    const body = toRapidResponse(error);
    this._post(
      `${BASE}/invocation/${encodeURIComponent(id)}/error`,
      JSON.stringify(body),
      { 'Lambda-Runtime-Function-Error-Type': body.errorType },
      done,
    );
  }

  postInitError(error, done) {
    const body = toRapidResponse(error);
    this._post(
      `${BASE}/init/error`,
      JSON.stringify(body),
      { 'Lambda-Runtime-Function-Error-Type': body.errorType },
      done,
    );
  }

  _post(path, body, headers, done) {
    const data = Buffer.from(body, 'utf8');
    const req = http.request(
      {
        host: this.host,
        port: this.port,
        path,
        method: 'POST',
        agent: this.agent,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': data.length,
          // the runtime's peak RSS, for REPORT's Max Memory Used (faaslab's own header)
          'faaslab-max-rss-kb': process.resourceUsage().maxRSS,
          ...headers,
        },
      },
      (res) => {
        res.resume();
        res.on('end', done);
      },
    );
    req.on('error', (e) => {
      throw e;
    });
    req.end(data);
  }
}

function serialise(value) {
  try {
    return JSON.stringify(value) ?? 'null'; // (a function or a symbol: nothing)
  } catch {
    throw new Error('Unable to stringify response body');
  }
}
