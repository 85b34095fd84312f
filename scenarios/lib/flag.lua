-- flag.lua — helpers for raw IEC 62056-21 (IEC 61107, "FLAG") exchanges in scenarios.
-- Written from the message formats of IEC 62056-21:2002 clause 6.3 as summarised in
-- ../shared/PROTOCOL-NOTES.md, independently of the C codec in protocols/, so that a
-- scenario checks the meter against the standard rather than against our own code.
-- SPDX-License-Identifier: MIT
local M = {}

M.SOH, M.STX, M.ETX, M.EOT = "\1", "\2", "\3", "\4"
M.ACK, M.NAK, M.CRLF = "\6", "\21", "\r\n"

-- Requirement (clause) names used by the suite. Clause numbers as the project's notes
-- give them (docs/scenario-api.md, "Requirements"); check them against your edition.
M.REQ = {
  request = "IEC 62056-21:2002 6.3.1 (request message)",
  address = "IEC 62056-21:2002 6.3.1 (request message, device address)",
  ident = "IEC 62056-21:2002 6.3.2 (identification message)",
  option = "IEC 62056-21:2002 6.3.3 (acknowledgement/option select message)",
  data = "IEC 62056-21:2002 6.3.4 (data message: STX data ETX BCC)",
  bcc = "IEC 62056-21:2002 6.3.4 (block check character BCC)",
  tr = "IEC 62056-21:2002 6.3 (reaction time tr 200..1500 ms)",
  mode_a = "IEC 62056-21:2002 6.4.1 (protocol mode A)",
  mode_b = "IEC 62056-21:2002 6.4.2 (protocol mode B)",
  mode_c = "IEC 62056-21:2002 6.4.3 (protocol mode C)",
  mode_d = "IEC 62056-21:2002 6.4.4 (protocol mode D)",
  prog = "IEC 62056-21:2002 6.4.3 (mode C programming mode: P0, password P1, ACK)",
  command = "IEC 62056-21:2002 6.3.7 (programming command message)",
  nak = "IEC 62056-21:2002 6.3 (repeat-request message NAK)",
  b0 = "IEC 62056-21:2002 6.3.7 (break command B0)",
  inactivity = "IEC 62056-21:2002 6.3 (inactivity time-out of programming mode)",
}

-- Baud rate characters Z (IEC 62056-21:2002 6.4).
M.RATE_C = { ["0"] = 300, ["1"] = 600, ["2"] = 1200, ["3"] = 2400, ["4"] = 4800,
  ["5"] = 9600, ["6"] = 19200 }
M.RATE_B = { A = 600, B = 1200, C = 2400, D = 4800, E = 9600, F = 19200 }

-- Block check character: XOR of the bytes given.
function M.bcc(s)
  local b = 0
  for i = 1, #s do b = b ~ s:byte(i) end
  return b
end

-- A block: lead starts with SOH or STX; the BCC covers every byte after that first
-- one, up to and including ETX. bad = true sends a wrong BCC on purpose.
function M.block(lead, body, bad)
  local span = lead:sub(2) .. body .. M.ETX
  local b = M.bcc(span)
  if bad then b = b ~ 0x01 end
  return lead:sub(1, 1) .. span .. string.char(b)
end

function M.command(cd, data, bad)
  if data == nil then return M.block(M.SOH .. cd, "", bad) end
  return M.block(M.SOH .. cd .. M.STX, data, bad)
end

-- The parts of a received block: first SOH/STX, ETX/EOT, the BCC byte and the value
-- it should have. nil when the bytes hold no complete block.
function M.split_block(bytes)
  local first = bytes:find("[\1\2]")
  if not first then return nil end
  local etx = bytes:find("[\3\4]", first + 1)
  if not etx or etx == #bytes then return nil end
  local data_start = bytes:find(M.STX, first, true)
  return {
    lead = bytes:sub(first, first),
    data = data_start and bytes:sub(data_start + 1, etx - 1) or "",
    bcc = bytes:byte(etx + 1),
    expected_bcc = M.bcc(bytes:sub(first + 1, etx)),
  }
end

-- Identification "/" XXX Z ["\" W] ident CR LF: its fields, or nil.
function M.parse_ident(s)
  local mfr, z, rest = s:match("^/(%a%a%a)([%g])(.*)\r\n$")
  if not mfr then return nil end
  local w
  if rest:sub(1, 1) == "\\" then
    w, rest = rest:sub(2, 2), rest:sub(3)
  end
  return { manufacturer = mfr, z = z, w = w, ident = rest }
end

-- The reaction time's lower limit: 20 ms when the manufacturer's third letter is
-- lowercase, else 200 ms.
function M.tr_min(mfr)
  return mfr:sub(3, 3):match("%l") and 20 or 200
end

-- Data sets of a data block: a list of {address, value, unit}; lines end with CR LF;
-- the end line "!" stops.
function M.datasets(body)
  local out = {}
  for line in body:gmatch("[^\r\n]+") do
    if line == "!" then break end
    for addr, value in line:gmatch("([^()]*)%(([^()]*)%)") do
      local v, unit = value:match("^(.-)%*(.*)$")
      out[#out + 1] = { address = addr, value = v or value, unit = unit }
    end
  end
  return out
end

-- Raw sign-on: request (with address or none), then the identification.
function M.sign_on(t, c, address)
  c:clear()
  c:send("/?" .. (address or "") .. "!\r\n", 0)
  return t:ok(c:recv{ timeout_ms = 3700 })
end

-- Mode C option select V=0 Z Y after the reaction time, then our own rate switch
-- (applied once the option select is on the wire).
function M.option_select(c, z, y)
  c:send(M.ACK .. "0" .. z .. y .. M.CRLF, 200)
  c:set_baud(M.RATE_C[z] or 300)
end

-- After a raw sign-on in mode C: option select for a readout at the identification's
-- rate, then the data message. Leaves the meter back at its start.
function M.readout_after(t, c, ident)
  local z = ident.baud_char or "0"
  M.option_select(c, z, "0")
  return t:ok(c:recv{ timeout_ms = 20000 })
end

-- An exact decimal "1234.567" as an integer of 10^-scale units (no floating point).
function M.fixed(s, scale)
  local int, frac = s:match("^(%-?%d+)%.?(%d*)$")
  if not int then return nil end
  frac = (frac .. string.rep("0", scale)):sub(1, scale)
  local p = 1
  for _ = 1, scale do p = p * 10 end
  local f = scale > 0 and tonumber(frac) or 0
  if int:sub(1, 1) == "-" then f = -f end
  return tonumber(int) * p + f
end

return M
