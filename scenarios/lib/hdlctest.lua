-- hdlctest.lua — helpers of the HDLC suite (scenarios/hdlc): a meter with its DLMS port on
-- HDLC (--param transport=hdlc-pty (default) or hdlc-tcp), raw frames to and from it, and
-- the clauses checked. The frames are built and parsed by the `hdlc` module (the codec of
-- protocols/hdlc with any field settable, also wrongly); the expected reactions are the
-- standard's (IEC 62056-46, ISO/IEC 13239 for the procedures it refers to, the DLMS UA
-- conformance test plan's HDLC groups).
-- SPDX-License-Identifier: MIT
local hdlc = require "hdlc"
local cosem = require "cosem"

local M = {}

-- Clause numbers as protocols/hdlc/hdlc_frame.h gives them (IEC 62056-46:2002+A1:2006);
-- check them against the edition you hold.
M.REQ = {
  frame = "IEC 62056-46 6.4.1 (frame format: flags, frame length, HCS, FCS) / DLMS UA CTP HDLC_1 (incorrect frame fields)",
  hcs = "IEC 62056-46 6.4.1 (HCS: a frame whose header check sequence is wrong is discarded)",
  fcs = "IEC 62056-46 6.4.1 (FCS: a frame whose frame check sequence is wrong is discarded)",
  flag = "IEC 62056-46 6.4.1 (a frame ends with the closing flag; without it, it is discarded)",
  short = "IEC 62056-46 6.4.1 (a frame shorter than its minimum is discarded)",
  nr = "ISO/IEC 13239 frame reject condition, IEC 62056-46 6.4.4 (FRMR with Z: N(R) that acknowledges no frame sent)",
  ns = "ISO/IEC 13239 NRM sequence error: an I frame out of sequence is discarded, the poll answered with N(R) = V(R) (IEC 62056-46 6.4.5)",
  too_long = "ISO/IEC 13239 frame reject condition, IEC 62056-46 6.4.4 (FRMR with Y: information field over the negotiated maximum)",
  frmr_state = "ISO/IEC 13239 frame reject condition: held until a mode-setting command (SNRM, DISC)",
  snrm = "IEC 62056-46 6.4.4.4 (SNRM -> UA: normal response mode, sequence numbers reset)",
  ndm = "IEC 62056-46 6.4.4 / DLMS UA CTP HDLC_2 (in NDM a command with the poll bit other than SNRM is answered with DM)",
  disc = "IEC 62056-46 6.4.4 (DISC -> UA in NRM, then NDM)",
  params = "IEC 62056-46 6.4.4.4.3.2 (parameter negotiation: the smaller of each proposal; without a field, the defaults 128 / 1)",
  segmentation = "IEC 62056-46 6.4.5 (segmentation: APDUs longer than the maximum information field in I frames with the S bit)",
  inactivity = "IEC 62056-46 6.4.4 / Blue Book IC 23 inactivity_time_out (no frame for this long: back to NDM)",
  inter_octet = "IEC 62056-46 / Blue Book IC 23 inter_octet_time_out (a partial frame dropped after this silence)",
}

-- The meter (HDLC at the model's own rate on the pty); opts: t:meter options.
function M.meter(t, opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.transport = cosem.hdlc_transport(t)
  o.model_rate = true
  return cosem.meter(t, o)
end

-- A raw session of the public client (16) to logical device 1 (extra: m:dlms options).
function M.session(m, extra)
  local o = { transport = "hdlc", client = 16 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return m:dlms(o)
end

-- Send a frame from client 16 to server 1 (fields as hdlc.frame takes them).
function M.send(d, f)
  f.dst = f.dst or 1
  f.src = f.src or 16
  return d:send_raw(hdlc.frame(f))
end

-- The meter's answer: a frame table, or nil for silence within ms.
function M.answer(d, ms)
  local f = d:recv_raw(ms or 1000)
  return f
end

-- What came: the frame type ("UA", "FRMR", ...) or "silence".
function M.kind(f) return f and (f.error or f.type) or "silence" end

-- SNRM -> UA (with parameters as proposed in `params`, or none when params == false).
function M.snrm(t, d, params)
  local f = { type = "SNRM" }
  if params then f.info = hdlc.params(params) end
  if params == nil then
    f.info = hdlc.params{ max_info_tx = 128, max_info_rx = 128, window_tx = 1, window_rx = 1 }
  end
  M.send(d, f)
  local ua = M.answer(d)
  t:assert(M.kind(ua), "answer to SNRM", M.REQ.snrm):equals("UA")
  return ua
end

return M
