// driver.js runs API calls through the official Alibaba Cloud Node.js
// clients for esacert's Go end-to-end tests. It reads one JSON request per
// line on stdin and writes one JSON answer per line on stdout:
//
//   in:  {"client": "esa" | "esa-v2" | "ram" | "ram-v2" | "sts" | "sts-v2" | "pop",
//         "endpoint": "127.0.0.1:8787", "key": "...", "secret": "...",
//         "token": "optional STS security token", "action": "GetSite",
//         "params": {"SiteId": "123"}, "nonce": "optional fixed nonce"}
//   out: {"ok": {...response body...}} or
//        {"error": {"type": "...", "code": "...", "statusCode": 400, "message": "..."}}
//
// "esa" is @alicloud/esa20240910 (ACS3), "esa-v2" the same with
// signatureAlgorithm 'v2'; "ram" and "sts" are @alicloud/ram20150501 and
// @alicloud/sts20150401 in the same two ways; "pop" is @alicloud/pop-core's RPCClient with every
// parameter in a POST body. Typed SDK methods are used where the SDK has
// them; a fixed nonce or an unknown action goes through the SDK's callApi.
'use strict';

const readline = require('readline');
const Esa = require('@alicloud/esa20240910');
const Ram = require('@alicloud/ram20150501');
const Sts = require('@alicloud/sts20150401');

// The SDK of each client, and the API version its typed methods speak.
const sdks = {
  esa: { Client: Esa.default, models: Esa, version: '2024-09-10' },
  ram: { Client: Ram.default, models: Ram, version: '2015-05-01' },
  sts: { Client: Sts.default, models: Sts, version: '2015-04-01' },
};
const core = require('@alicloud/openapi-core');
const $dara = require('@darabonba/typescript');
const RPCClient = require('@alicloud/pop-core').RPCClient;

// The HTTP method the official SDKs use per action (for callApi).
const methods = {
  CreateSite: 'POST', GetSite: 'GET', ListSites: 'GET', DeleteSite: 'POST', VerifySite: 'POST',
  PurchaseRatePlan: 'POST', ListUserRatePlanInstances: 'GET', DescribeRatePlanInstanceStatus: 'POST',
  UpdateRatePlanSpec: 'POST',
  SetCertificate: 'POST', GetCertificate: 'POST', ListCertificates: 'POST', DeleteCertificate: 'GET',
  ListCertificatesByRecord: 'POST', GetCertificateQuota: 'GET', ListCasCertificates: 'POST',
  UploadUserCertificate: 'POST', GetUserCertificateDetail: 'POST', ListUserCertificateOrder: 'POST',
  DeleteUserCertificate: 'POST',
  // Mutual TLS from visitors; the SDK's version here has no typed methods
  // for the client CA hostname actions.
  SetClientCaCertificateHostnames: 'POST', GetClientCaCertificateHostnames: 'POST',
  UploadSiteOriginClientCertificate: 'POST', GetSiteOriginClientCertificate: 'GET',
  ListSiteOriginClientCertificates: 'GET', DeleteSiteOriginClientCertificate: 'GET',
};

const lowerFirst = (s) => s.charAt(0).toLowerCase() + s.slice(1);

// product is the SDK a client name stands for: esa, ram or sts.
const product = (client) => client.replace(/-v2$/, '');

function sdkClient(req) {
  const cfg = new core.$OpenApiUtil.Config({
    accessKeyId: req.key,
    accessKeySecret: req.secret,
    endpoint: req.endpoint,
    protocol: 'http',
    regionId: 'cn-hangzhou',
  });
  if (req.token) {
    cfg.securityToken = req.token;
  }
  if (req.client.endsWith('-v2')) {
    cfg.signatureAlgorithm = 'v2';
  }
  return new sdks[product(req.client)].Client(cfg);
}

// typedRequest builds the SDK's request model, converting numeric fields
// (as the model's own types() says) from their wire strings.
// Lists (RAM's Tag, ResourceNames, TagKeys) are given as JSON text and
// built into the model's item type, as a program using the SDK would.
function typedRequest(Model, params) {
  const types = Model.types();
  const fields = {};
  for (const [k, v] of Object.entries(params || {})) {
    // Most fields are the wire name with a lower-case first letter; a few
    // (CSR) keep the wire name.
    const name = types[k] !== undefined ? k : lowerFirst(k);
    const type = types[name];
    if (type === 'number' && /^-?\d+$/.test(v)) {
      fields[name] = Number(v);
    } else if (type === 'boolean' && (v === 'true' || v === 'false')) {
      fields[name] = v === 'true';
    } else if (type && type.type === 'array') {
      const items = JSON.parse(v);
      fields[name] = typeof type.itemType === 'string' ? items : items.map((item) => {
        const f = {};
        for (const [ik, iv] of Object.entries(item)) {
          f[lowerFirst(ik)] = iv;
        }
        return new type.itemType(f);
      });
    } else {
      fields[name] = v;
    }
  }
  return new Model(fields);
}

async function callSdk(req) {
  const client = sdkClient(req);
  const sdk = sdks[product(req.client)];
  const method = lowerFirst(req.action);
  const Model = sdk.models[req.action + 'Request'];
  const typed = !req.version || req.version === sdk.version;
  if (typed && !req.nonce && typeof client[method] === 'function') {
    const res = Model ? await client[method](typedRequest(Model, req.params)) : await client[method]();
    return res.body.toMap();
  }
  const params = new core.$OpenApiUtil.Params({
    action: req.action, version: req.version || sdk.version, protocol: 'HTTP', pathname: '/',
    method: methods[req.action] || 'POST', authType: 'AK', style: 'RPC',
    reqBodyType: 'formData', bodyType: 'json',
  });
  const query = Object.assign({}, req.params || {});
  const headers = {};
  if (req.nonce) {
    if (req.client.endsWith('-v2')) {
      query.SignatureNonce = req.nonce;
    } else {
      headers['x-acs-signature-nonce'] = req.nonce;
    }
  }
  const request = new core.$OpenApiUtil.OpenApiRequest({ query, headers });
  const res = await client.callApi(params, request, new $dara.RuntimeOptions({}));
  return res.body;
}

async function callPop(req) {
  const client = new RPCClient({
    accessKeyId: req.key,
    accessKeySecret: req.secret,
    endpoint: 'http://' + req.endpoint,
    apiVersion: req.version || '2024-09-10',
  });
  const params = Object.assign({}, req.params || {});
  if (req.nonce) {
    params.SignatureNonce = req.nonce;
  }
  return client.request(req.action, params, { method: 'POST', formatParams: false });
}

function describe(err) {
  if (err instanceof core.ClientError || err instanceof core.ServerError || err instanceof core.ThrottlingError) {
    return { type: err.constructor.name, code: err.code, statusCode: err.statusCode, message: err.message, data: err.data,
      accessDeniedDetail: err.accessDeniedDetail };
  }
  if (err && err.entry && err.data) { // pop-core's error: named after the Code
    return { type: err.name, code: err.code, statusCode: err.entry.response.statusCode, message: err.message, data: err.data };
  }
  return { type: 'unexpected:' + (err && err.constructor ? err.constructor.name : typeof err), message: String(err && err.stack || err) };
}

const rl = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on('line', (line) => {
  queue = queue.then(async () => {
    let out;
    try {
      const req = JSON.parse(line);
      const body = req.client === 'pop' ? await callPop(req) : await callSdk(req);
      out = { ok: body };
    } catch (err) {
      out = { error: describe(err) };
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  });
});
