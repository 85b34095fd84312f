// Interoperability: the third-party IEC 62056-21 reader `smartmeter-obis` (npm, MIT)
// reads a simulated meter over its pty in mode C with the 300 -> 9600 Bd switch, and
// every register the control API reports for that instant must equal what it read.
// Starts one metersim and stops it by its PID; everything on loopback; bounded in time.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const SmartmeterObis = require('smartmeter-obis');

const BUILD = process.env.MS_BUILD_DIR || 'build';
const DATA = process.env.MS_SHARED_DATA || '../shared/data';
const CSV = path.join(DATA, 'consumption/opsd_household_konstanz/' +
                      'household_data_60min_singleindex_2017_residential4.csv');
const LIMIT_MS = 60000;

let meter = null;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-smo-'));
const link = path.join(tmp, 'meter');

function finish(code, text) {
    if (text) console.log(text);
    if (meter && meter.exitCode === null) {
        meter.once('exit', (c, sig) => {
            if (code === 0 && c !== 0) {
                console.log(`FAIL metersim exited with ${c} (${sig}) on SIGTERM, expected 0`);
                code = 1;
            }
            fs.rmSync(tmp, { recursive: true, force: true });
            process.exit(code);
        });
        process.kill(meter.pid, 'SIGTERM');
    } else {
        fs.rmSync(tmp, { recursive: true, force: true });
        process.exit(code);
    }
}
setTimeout(() => finish(1, `FAIL no result within ${LIMIT_MS} ms`), LIMIT_MS).unref();

function request(method, url, body) {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method, headers: { 'Content-Type': 'application/json' } },
            (res) => {
                let text = '';
                res.on('data', (d) => { text += d; });
                res.on('end', () => {
                    if (res.statusCode !== 200) reject(new Error(`${method} ${url}: ${res.statusCode} ${text}`));
                    else resolve(JSON.parse(text));
                });
            });
        req.on('error', reject);
        if (body) req.write(JSON.stringify(body));
        req.end();
    });
}

function startMeter() {
    return new Promise((resolve, reject) => {
        meter = spawn(path.join(BUILD, 'sim/metersim'),
            ['--model', 'ms3p-direct', '--load', CSV, '--pty', link, '--clock', 'stepped',
             '--start', '2016-03-01T00:00:00Z'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        meter.stdout.on('data', (d) => {
            out += d;
            const nl = out.indexOf('\n');
            if (nl >= 0 && out.startsWith('ready ')) resolve(JSON.parse(out.slice(6, nl)));
        });
        meter.on('exit', (c) => reject(new Error(`metersim exited (${c}) before ready`)));
    });
}

function readWithSmartmeterObis() {
    return new Promise((resolve, reject) => {
        const options = {
            protocol: 'D0Protocol',
            transport: 'SerialRequestResponseTransport',
            transportSerialPort: link,
            transportSerialBaudrate: 300,
            transportSerialDataBits: 7,
            transportSerialStopBits: 1,
            transportSerialParity: 'even',
            requestInterval: 0,
            obisFallbackMedium: 1,
            debug: 0,
            logger: () => {},
        };
        let transport = null;
        transport = SmartmeterObis.init(options, (err, data) => {
            if (err) { reject(err); return; }
            transport.stop();
            resolve(data);
        });
        transport.process();
    });
}

(async () => {
    const ready = await startMeter();
    const id = ready.meters[0].id;
    const base = ready.control;
    // 36 h of the household, so that both rates and demand have values.
    await request('POST', `${base}/clock`, { advance_s: 36 * 3600 });
    const got = await readWithSmartmeterObis();
    const state = await request('GET', `${base}/meters/${id}`);
    const port = state.ports[0];
    const problems = [];
    let checked = 0;
    for (const reg of state.registers) {
        const m = got[reg.obis];
        if (!m) { problems.push(`${reg.obis}: not read by smartmeter-obis`); continue; }
        const v = m.values[0];
        const want = reg.value;
        // smartmeter-obis parses values with a unit as numbers, keeps others as text.
        const num = typeof v.value === 'number' ? v.value : parseFloat(v.value);
        const same = typeof want === 'number' ? num === want && v.unit === (reg.unit || '')
                                              : String(v.value) === want;
        if (!same) problems.push(`${reg.obis}: smartmeter-obis ${JSON.stringify(v)}, control API ${want} ${reg.unit || ''}`);
        checked++;
    }
    if (Object.keys(got).length !== state.registers.length)
        problems.push(`smartmeter-obis read ${Object.keys(got).length} registers, the control API reports ${state.registers.length}`);
    // The meter must have seen the reader's switch to 9600 Bd through the pty.
    if (port.line.peer_baud !== 9600)
        problems.push(`meter did not see the reader's baud switch: ${JSON.stringify(port.line)}`);
    if (port.line.peer_line_changes < 2)
        problems.push(`meter saw ${port.line.peer_line_changes} termios changes, expected >= 2`);
    const ap = got['1-0:1.8.0*255'];
    console.log(`smartmeter-obis read ${checked} registers in mode C (300 -> 9600 Bd); ` +
                `A+ = ${ap ? ap.values[0].value + ' ' + ap.values[0].unit : '?'}; ` +
                `meter saw reader at ${port.line.peer_baud} Bd after ${port.line.peer_line_changes} line changes`);
    if (problems.length) finish(1, 'FAIL\n  ' + problems.join('\n  '));
    else finish(0, 'PASS');
})().catch((e) => finish(1, `FAIL ${e.stack || e}`));
