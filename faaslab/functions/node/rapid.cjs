'use strict';

// The Lambda Runtime API client: HTTP/1.1 to AWS_LAMBDA_RUNTIME_API over one keep-alive
// TCP connection, requests pipelined. After an invocation the result and the next
// `GET next` leave in one write, so the control plane wakes once for both and the
// runtime waits for one answer, not two. (node:http cannot pipeline: its keep-alive
// Agent, one socket, measured 2.4x faster than a connection per call but still ~500 µs
// per invoke above this; BENCHMARKS.md.) The Runtime API's answers are small and carry
// a Content-Length, which is all this parser reads.

const net = require('node:net');
const { toRapidResponse } = require('./errors.cjs');

const BASE = '/2018-06-01/runtime';
const HEAD_END = Buffer.from('\r\n\r\n');

class RuntimeApi {
  constructor(address) {
    const [host, port] = address.split(':');
    this.host = host;
    this.port = Number(port);
    this.hostHeader = address;
    this.socket = null;
    this.pending = []; // response handlers, in the order the requests were written
    this.chunks = []; // what has arrived of the answers not yet handled
    this.received = 0; // their bytes
    this.needed = 0; // the bytes the answer being received needs, once its head is in
  }

  // The next invocation: {body (string), headers (lower-case names)}.
  next() {
    return new Promise((resolve, reject) => {
      this._request('GET', `${BASE}/invocation/next`, {}, null, (res) => {
        if (res.status !== 200) {
          reject(new Error(`Failed to get next invocation, HTTP ${res.status}: ${res.body}`));
        } else {
          resolve({ body: res.body.toString('utf8'), headers: res.headers });
        }
      });
    });
  }

  // Throws when the result cannot be serialised (the caller reports that as the error).
  // `done` runs once the request is written: the runtime's next `GET next` follows it
  // on the wire (pipelined), and its answer comes after this one's.
  postResponse(id, result, done) {
    const body = serialise(result === undefined ? null : result);
    this._post(`${BASE}/invocation/${encodeURIComponent(id)}/response`, body, {}, done, false);
  }

  postError(id, error, done, waitForAnswer = false) {
    const body = toRapidResponse(error);
    this._post(
      `${BASE}/invocation/${encodeURIComponent(id)}/error`,
      JSON.stringify(body),
      { 'Lambda-Runtime-Function-Error-Type': body.errorType },
      done,
      waitForAnswer,
    );
  }

  // (always waits for the answer: the process exits next)
  postInitError(error, done) {
    const body = toRapidResponse(error);
    this._post(
      `${BASE}/init/error`,
      JSON.stringify(body),
      { 'Lambda-Runtime-Function-Error-Type': body.errorType },
      done,
      true,
    );
  }

  _post(path, body, headers, done, waitForAnswer) {
    const extra = {
      'Content-Type': 'application/json',
      // the runtime's peak RSS, for REPORT's Max Memory Used (faaslab's own header)
      'faaslab-max-rss-kb': process.resourceUsage().maxRSS,
      ...headers,
    };
    if (waitForAnswer) {
      // A last word before exiting goes on a connection of its own: on the shared one
      // it would wait behind a pending `GET next` (an error thrown by a timer between
      // invocations) until an invocation came.
      const { host, port } = this;
      const socket = net.connect({ host, port }, () => {
        const data = Buffer.from(body, 'utf8');
        let head = `POST ${path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\nConnection: close\r\n`;
        for (const [name, value] of Object.entries(extra)) head += `${name}: ${value}\r\n`;
        socket.end(Buffer.concat([Buffer.from(`${head}Content-Length: ${data.length}\r\n\r\n`), data]));
      });
      socket.on('data', () => {});
      socket.on('close', () => done());
      socket.on('error', () => {}); // ('close' follows: the process exits either way)
      return;
    }
    const socket = this._connected();
    socket.cork(); // (the GET next written by `done`'s iteration joins this write)
    this._request('POST', path, extra, Buffer.from(body, 'utf8'), () => {});
    done();
    setImmediate(() => socket.uncork());
  }

  _connected() {
    if (this.socket === null) {
      const socket = net.connect({ host: this.host, port: this.port });
      socket.setNoDelay(true);
      socket.on('data', (chunk) => this._received(chunk));
      // without its Runtime API a runtime can do nothing more: it ends (as AWS's does)
      socket.on('error', (e) => {
        process.stderr.write(`Runtime API connection failed: ${e.message}\n`);
        process.exit(1);
      });
      socket.on('close', () => {
        this.socket = null;
        if (this.pending.length) {
          process.stderr.write('Runtime API connection closed with answers due\n');
          process.exit(1);
        }
      });
      this.socket = socket;
    }
    return this.socket;
  }

  _request(method, path, headers, body, onResponse) {
    const socket = this._connected();
    let head = `${method} ${path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    head += `Content-Length: ${body ? body.length : 0}\r\n\r\n`;
    socket.write(body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : head, 'latin1');
    this.pending.push(onResponse);
    socket.ref(); // an answer is due: keep the process alive for it
  }

  _received(chunk) {
    // Chunks are joined only once a whole answer is in (a 6 MB event arrives in ~100).
    this.chunks.push(chunk);
    this.received += chunk.length;
    if (this.received < this.needed) return;
    let buffer = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    for (;;) {
      this.needed = 0;
      const end = buffer.indexOf(HEAD_END);
      if (end < 0) break;
      const lines = buffer.toString('latin1', 0, end).split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const headers = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      if (headers['transfer-encoding']) {
        process.stderr.write(`unsupported Runtime API answer: ${lines[0]}, chunked\n`);
        process.exit(1);
      }
      const start = end + HEAD_END.length;
      const total = start + Number(headers['content-length'] || 0);
      if (buffer.length < total) {
        this.needed = total;
        break;
      }
      const body = buffer.subarray(start, total);
      buffer = buffer.subarray(total);
      const handler = this.pending.shift();
      // nothing due: the connection must not keep the process alive (an empty event
      // loop is how a callback handler's invocation ends)
      if (!this.pending.length) this.socket?.unref();
      handler?.({ status, headers, body });
    }
    this.chunks = buffer.length ? [buffer] : [];
    this.received = buffer.length;
  }
}

function serialise(value) {
  try {
    return JSON.stringify(value) ?? 'null'; // (a function or a symbol: nothing)
  } catch {
    throw new Error('Unable to stringify response body');
  }
}

module.exports = { RuntimeApi };
