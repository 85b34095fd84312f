-- cosem.lua — helpers of the DLMS/COSEM and HDLC suites: the meter over the chosen
-- transport, sessions of the usual clients, the clauses the suites check, and Blue Book
-- type checks of attribute values.
--
-- Transport: --param transport=wrapper (default; IEC 62056-47 on TCP), hdlc-pty
-- (IEC 62056-46 on the meter's pty, paced at its line rate) or hdlc-tcp (HDLC on TCP).
-- Against a real meter (--meter serial:DEV / tcp:HOST:PORT) the same parameter picks the
-- framing; --param lls_password=, ek=, ak=, physical= give its secrets and address.
--
-- Clause references: the document (IEC 62056-5-3 = DLMS UA 1000-2 "Green Book",
-- IEC 62056-6-2 = DLMS UA 1000-1 "Blue Book", IEC 62056-46 HDLC) and the section's
-- subject in words; the Blue Book interface-class numbers are those of its 12th edition
-- (4.x), the HDLC ones those the codec headers give (protocols/hdlc). Check the numbers
-- against the edition you hold.
-- SPDX-License-Identifier: MIT
local dlms = require "dlms"

local M = {}

M.REQ = {
  aarq = "IEC 62056-5-3 (Green Book) COSEM-OPEN: AARQ/AARE application association",
  lowest = "IEC 62056-5-3 (Green Book) security: lowest level security (no authentication)",
  lls = "IEC 62056-5-3 (Green Book) security: low level security (LLS, password in the AARQ)",
  hls = "IEC 62056-5-3 (Green Book) security: HLS mechanism 5 (GMAC), pass 3/4 by reply_to_HLS_authentication",
  auth_failure = "IEC 62056-5-3 (Green Book) AARE result rejected-permanent, diagnostic authentication-failure",
  outside_association = "IEC 62056-5-3 (Green Book) xDLMS services only within an association: exception-response",
  release = "IEC 62056-5-3 (Green Book) COSEM-RELEASE: RLRQ/RLRE",
  get = "IEC 62056-5-3 (Green Book) GET service (GET-Request-Normal / GET-Response-Normal)",
  block = "IEC 62056-5-3 (Green Book) GET service with block transfer (GET-Response-With-Datablock, GET-Request-Next)",
  selective = "IEC 62056-6-2 4.3.6 (Blue Book) Profile generic: selective access by range_descriptor",
  set = "IEC 62056-5-3 (Green Book) SET service",
  action = "IEC 62056-5-3 (Green Book) ACTION service",
  dar = "IEC 62056-5-3 (Green Book) Data-Access-Result",
  rights = "IEC 62056-6-2 4.4.3 (Blue Book) Association LN: object_list and access_rights of the association",
  ciphering = "IEC 62056-5-3 (Green Book) security: ciphered APDUs, security suite 0 (AES-GCM-128)",
  replay = "IEC 62056-5-3 (Green Book) security: invocation counter, a repeated counter refused (exception-response invocation-counter-error)",
  data = "IEC 62056-6-2 4.3.1 (Blue Book) Data (class_id 1)",
  register = "IEC 62056-6-2 4.3.2 (Blue Book) Register (class_id 3): scaler_unit structure {integer, enum}",
  ext_register = "IEC 62056-6-2 4.3.3 (Blue Book) Extended register (class_id 4)",
  demand = "IEC 62056-6-2 4.3.4 (Blue Book) Demand register (class_id 5)",
  reg_activation = "IEC 62056-6-2 4.3.5 (Blue Book) Register activation (class_id 6)",
  profile = "IEC 62056-6-2 4.3.6 (Blue Book) Profile generic (class_id 7)",
  clock = "IEC 62056-6-2 4.5.1 (Blue Book) Clock (class_id 8)",
  script = "IEC 62056-6-2 4.5.2 (Blue Book) Script table (class_id 9)",
  special_days = "IEC 62056-6-2 4.5.4 (Blue Book) Special days table (class_id 11)",
  association = "IEC 62056-6-2 4.4.3 (Blue Book) Association LN (class_id 15)",
  sap = "IEC 62056-6-2 4.4.5 (Blue Book) SAP assignment (class_id 17)",
  calendar = "IEC 62056-6-2 4.5.5 (Blue Book) Activity calendar (class_id 20): passive calendar, activate_passive_calendar (method 1)",
  single_action = "IEC 62056-6-2 4.5.7 (Blue Book) Single action schedule (class_id 22)",
  security_setup = "IEC 62056-6-2 4.4.7 (Blue Book) Security setup (class_id 64)",
  disconnect = "IEC 62056-6-2 4.5.8 (Blue Book) Disconnect control (class_id 70): remote_disconnect (1), remote_reconnect (2), states",
  limiter = "IEC 62056-6-2 4.5.9 (Blue Book) Limiter (class_id 71)",
  datetime = "IEC 62056-6-2 4.1.6.1 (Blue Book) date-time: deviation (UTC = local + deviation) and clock status (DST bit)",
  logical_name = "IEC 62056-6-2 4.1.2 (Blue Book) attribute 1 logical_name: octet-string(6), the object's OBIS code",
}

-- The transport a run uses (--param transport=...).
function M.transport(t)
  local tr = t:param("transport", "wrapper")
  if tr ~= "wrapper" and tr ~= "hdlc-pty" and tr ~= "hdlc-tcp" then
    error("--param transport: wrapper, hdlc-pty or hdlc-tcp expected, got " .. tostring(tr), 2)
  end
  return tr
end

-- The pty line rate of the DLMS suite: 19200 Bd (the fastest IEC 62056-21 rate; the
-- application layer does not depend on it), --param hdlc_baud=N for another.
function M.dlms_baud(t)
  return math.tointeger(tonumber(t:param("hdlc_baud", "19200")))
end

-- The HDLC transport of a run: hdlc-tcp when asked, else hdlc-pty (the HDLC suite).
function M.hdlc_transport(t)
  local tr = t:param("transport", "hdlc-pty")
  if tr == "hdlc-tcp" then return tr end
  return "hdlc-pty"
end

-- t:meter for a DLMS port over the transport; opts are t:meter's (plus transport =
-- "wrapper" | "hdlc-pty" | "hdlc-tcp"; baud = the pty's line rate, model_rate = true
-- keeps the model's). Default load: constant 1.2 kW.
function M.meter(t, opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  local tr = o.transport or M.transport(t)
  local baud, model_rate = o.baud, o.model_rate
  o.transport, o.baud, o.model_rate = nil, nil, nil
  if tr == "wrapper" then
    o.protocol = "dlms-wrapper"
  else
    o.protocol, o.transport = "dlms-hdlc", tr == "hdlc-tcp" and "tcp" or "pty"
  end
  if tr == "hdlc-pty" and not model_rate and t.sim then
    -- the pty's line rate: metersim runs HDLC at the model's IEC 62056-21 rate
    local set = {}
    for k, v in pairs(o.set or {}) do set[k] = v end
    set["iec62056_21.baud"] = baud or M.dlms_baud(t)
    o.set = set
  end
  o.load = o.load or "constant:1200"
  local m = t:meter(o)
  return m, tr
end

-- The clients of metersim's default model (docs/cosem.md "Addressing and clients").
function M.client(t, who)
  if who == "public" then return { client = 16 } end
  if who == "reader" then
    return { client = 17, auth = "lls", password = t:param("lls_password", "00000000") }
  end
  if who == "management" then
    return { client = 1, auth = "hls-gmac",
      ek = t:param("ek", "000102030405060708090A0B0C0D0E0F"),
      ak = t:param("ak", "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF") }
  end
  error("cosem.client: public, reader or management expected", 2)
end

-- The invocation counter the management client must use next, read by the public
-- client from 0-0:43.1.e.255 (e: --param ic_instance, 3 for metersim's third client).
-- A simulated meter started for the scenario has never seen one: 1.
function M.next_ic(t, m, tr)
  if t.sim then return 1 end
  local d <close> = M.open(t, m, tr, "public")
  t:ok(d:connect())
  t:ok(d:associate())
  local e = t:param("ic_instance", "3")
  local v = t:ok(d:get(1, "0-0:43.1." .. e .. ".255", 2))
  t:ok(d:release())
  t:ok(d:disconnect())
  return v.value
end

-- Open a session of client `who` on meter m over transport tr; extra options merged.
function M.open(t, m, tr, who, extra)
  local o = M.client(t, who)
  if who == "management" and not (extra and extra.ic) then o.ic = M.next_ic(t, m, tr) end
  o.transport = tr == "wrapper" and "wrapper" or "hdlc"
  if not t.sim and tr == "hdlc-pty" then
    o.baud = math.tointeger(tonumber(t:param("baud", "9600")))
  end
  local phys = t:param("physical", nil)
  if phys and tr ~= "wrapper" then o.physical = math.tointeger(tonumber(phys)) end
  for k, v in pairs(extra or {}) do o[k] = v end
  return m:dlms(o)
end

-- Connect (HDLC) and associate; the AARE result.
function M.associate(t, d)
  t:ok(d:connect())
  local a = t:ok(d:associate())
  t:assert(a.accepted, "association of client " .. d.client, M.REQ.aarq):is_true()
  return a
end

-- Release and disconnect (HDLC).
function M.finish(t, d)
  t:ok(d:release())
  t:ok(d:disconnect())
end

-- ---- Blue Book type checks --------------------------------------------------------

local function is(v, ty) return type(v) == "table" and v.type == ty end
M.is = is

local function octets(v, n)
  return is(v, "octet-string") and (n == nil or #v.value == n)
end

local function datetime(v)
  return octets(v, 12) or is(v, "date-time")
end

local NUMERIC = { ["integer"] = true, ["long"] = true, ["double-long"] = true,
  ["long64"] = true, ["unsigned"] = true, ["long-unsigned"] = true,
  ["double-long-unsigned"] = true, ["long64-unsigned"] = true, ["float32"] = true,
  ["float64"] = true, ["bcd"] = true, ["enum"] = true }

local function numeric(v) return type(v) == "table" and NUMERIC[v.type] == true end

local function scaler_unit(v)
  return is(v, "structure") and #v == 2 and is(v[1], "integer") and is(v[2], "enum")
end

local function capture_object(v)
  return is(v, "structure") and #v == 4 and is(v[1], "long-unsigned") and octets(v[2], 6)
    and is(v[3], "integer") and is(v[4], "long-unsigned")
end

local function array_of(v, pred)
  if not is(v, "array") then return false end
  for _, x in ipairs(v) do if not pred(x) then return false end end
  return true
end

local function structure_of(v, ...)
  local preds = table.pack(...)
  if not is(v, "structure") or #v ~= preds.n then return false end
  for i = 1, preds.n do if not preds[i](v[i]) then return false end end
  return true
end

local function ty(name) return function(v) return is(v, name) end end
local function any() return true end
local function oct(n) return function(v) return octets(v, n) end end
local function dt(v) return datetime(v) end
local function obj_list_entry(v)
  return structure_of(v, ty("long-unsigned"), ty("unsigned"), oct(6), ty("structure"))
end

-- Expected types per class and attribute: a predicate and its description. Attributes
-- not listed are only required to answer with data.
M.TYPES = {
  [1] = { req = M.REQ.data, [2] = { any, "any type" } },
  [3] = { req = M.REQ.register, [2] = { numeric, "a number type" },
    [3] = { scaler_unit, "structure {integer, enum}" } },
  [4] = { req = M.REQ.ext_register, [2] = { numeric, "a number type" },
    [3] = { scaler_unit, "structure {integer, enum}" }, [5] = { dt, "octet-string(12)" } },
  [5] = { req = M.REQ.demand, [2] = { numeric, "a number type" }, [3] = { numeric, "a number type" },
    [4] = { scaler_unit, "structure {integer, enum}" }, [6] = { dt, "octet-string(12)" },
    [7] = { dt, "octet-string(12)" }, [8] = { ty("double-long-unsigned"), "double-long-unsigned" },
    [9] = { ty("long-unsigned"), "long-unsigned" } },
  [6] = { req = M.REQ.reg_activation, [2] = { ty("array"), "array" }, [3] = { ty("array"), "array" },
    [4] = { ty("octet-string"), "octet-string" } },
  [7] = { req = M.REQ.profile, [2] = { ty("array"), "array" },
    [3] = { function(v) return array_of(v, capture_object) end,
      "array of structure {long-unsigned, octet-string(6), integer, long-unsigned}" },
    [4] = { ty("double-long-unsigned"), "double-long-unsigned" }, [5] = { ty("enum"), "enum" },
    [6] = { function(v) return capture_object(v) or is(v, "null-data") end,
      "structure {long-unsigned, octet-string(6), integer, long-unsigned}" },
    [7] = { ty("double-long-unsigned"), "double-long-unsigned" },
    [8] = { ty("double-long-unsigned"), "double-long-unsigned" } },
  [8] = { req = M.REQ.clock, [2] = { oct(12), "octet-string(12)" }, [3] = { ty("long"), "long" },
    [4] = { ty("unsigned"), "unsigned" }, [5] = { oct(12), "octet-string(12)" },
    [6] = { oct(12), "octet-string(12)" }, [7] = { ty("integer"), "integer" },
    [8] = { ty("boolean"), "boolean" }, [9] = { ty("enum"), "enum" } },
  [9] = { req = M.REQ.script, [2] = { ty("array"), "array" } },
  [11] = { req = M.REQ.special_days, [2] = { ty("array"), "array" } },
  [15] = { req = M.REQ.association,
    [2] = { function(v) return array_of(v, obj_list_entry) end,
      "array of structure {long-unsigned, unsigned, octet-string(6), structure}" },
    [3] = { function(v) return structure_of(v, ty("integer"), ty("long-unsigned")) end,
      "structure {integer, long-unsigned}" },
    [8] = { ty("enum"), "enum" } },
  [17] = { req = M.REQ.sap, [2] = { function(v) return array_of(v, function(x)
      return structure_of(x, ty("long-unsigned"), ty("octet-string")) end) end,
      "array of structure {long-unsigned, octet-string}" } },
  [20] = { req = M.REQ.calendar, [2] = { ty("octet-string"), "octet-string" },
    [3] = { ty("array"), "array" }, [4] = { ty("array"), "array" }, [5] = { ty("array"), "array" },
    [6] = { ty("octet-string"), "octet-string" }, [7] = { ty("array"), "array" },
    [8] = { ty("array"), "array" }, [9] = { ty("array"), "array" },
    [10] = { oct(12), "octet-string(12)" } },
  [22] = { req = M.REQ.single_action,
    [2] = { function(v) return structure_of(v, oct(6), ty("long-unsigned")) end,
      "structure {octet-string(6), long-unsigned}" },
    [3] = { ty("enum"), "enum" }, [4] = { ty("array"), "array" } },
  [64] = { req = M.REQ.security_setup, [2] = { ty("enum"), "enum" } },
  [70] = { req = M.REQ.disconnect, [2] = { ty("boolean"), "boolean" }, [3] = { ty("enum"), "enum" },
    [4] = { ty("enum"), "enum" } },
  [71] = { req = M.REQ.limiter },
}

-- Readable attribute access modes (Blue Book access_mode enum): read-only,
-- read-and-write, authenticated-read-only, authenticated-read-and-write.
M.READABLE = { [1] = true, [3] = true, [4] = true, [6] = true }
M.WRITABLE = { [2] = true, [3] = true, [5] = true, [6] = true }

-- Check one attribute value against the table: expectation per typed attribute.
function M.check_type(t, class, obis, attr, v)
  local c = M.TYPES[class]
  local what = string.format("%d/%s/%d", class, obis, attr)
  if attr == 1 then
    t:expect(octets(v, 6) and dlms.obis(v) or v, what .. " logical_name", M.REQ.logical_name)
      :equals(obis)
    return
  end
  local e = c and c[attr]
  if e then
    t:expect(e[1](v) and "ok" or (v and v.type or tostring(v)), what .. " type (" .. e[2] .. ")",
      c.req):equals("ok")
  end
end

return M
