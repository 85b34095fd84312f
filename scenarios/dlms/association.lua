-- Application association with each authentication mechanism the meter's clients use
-- (public: lowest, reader: LLS, management: HLS-GMAC with ciphering), a wrong LLS
-- password, a request outside any association, and the release.
local dlms = require "dlms"
local cosem = require "cosem"
local REQ = cosem.REQ

scenario "the public client associates with lowest level security" {
  tags = { "dlms", "association" },
  requirements = { REQ.aarq, REQ.lowest, REQ.release },
  function(t)
    local m <close>, tr = cosem.meter(t)
    local d <close> = cosem.open(t, m, tr, "public")
    t:step("AARQ without authentication", function()
      t:ok(d:connect())
      local a = t:ok(d:associate())
      t:expect(a.accepted, "association accepted", REQ.aarq):is_true()
      t:expect(a.result_name, "AARE result", REQ.aarq):equals("accepted")
      t:expect(a.diagnostic_name, "AARE diagnostic", REQ.aarq):equals("null")
      t:expect(a.dlms_version, "negotiated DLMS version", REQ.aarq):equals(6)
      t:expect(a.vaa_name, "vaa-name (LN referencing)", REQ.aarq):equals(0x0007)
      t:expect(a.max_pdu, "server max receive PDU size", REQ.aarq):in_range(12, 65535)
      local names = {}
      for _, n in ipairs(a.conformance_names or {}) do names[n] = true end
      t:expect(names.get, "negotiated conformance has get", REQ.aarq):is_true()
    end)
    t:step("a GET within the association", function()
      local v = t:ok(d:get(1, "0-0:96.1.0.255", 2))
      t:expect(v.type, "serial number type", REQ.get):one_of{ "octet-string", "visible-string" }
      if t.sim then t:expect(v.value, "serial number", REQ.get):equals("60012345") end
    end)
    t:step("release", function()
      local r = t:ok(d:release())
      t:expect(r.released, "RLRE after RLRQ", REQ.release):is_true()
      t:expect(d.associated, "association after the release", REQ.release):is_false()
      t:ok(d:disconnect())
    end)
  end }

scenario "the reader associates with LLS" {
  tags = { "dlms", "association", "lls" },
  requirements = { REQ.aarq, REQ.lls },
  function(t)
    local m <close>, tr = cosem.meter(t)
    local d <close> = cosem.open(t, m, tr, "reader")
    t:step("AARQ with the password", function()
      t:ok(d:connect())
      local a = t:ok(d:associate())
      t:expect(a.accepted, "LLS association accepted", REQ.lls):is_true()
      t:expect(a.diagnostic_name, "AARE diagnostic", REQ.lls):equals("null")
      local v = t:ok(d:get(3, "1-0:1.8.0.255", 2))
      t:expect(v.type, "A+ register value type", REQ.register):equals("double-long-unsigned")
      cosem.finish(t, d)
    end)
  end }

scenario "the management client associates with HLS-GMAC and ciphered APDUs" {
  tags = { "dlms", "association", "hls", "security" },
  requirements = { REQ.aarq, REQ.hls, REQ.ciphering },
  function(t)
    local m <close>, tr = cosem.meter(t)
    local d <close> = cosem.open(t, m, tr, "management")
    t:step("AARQ, then pass 3/4", function()
      t:ok(d:connect())
      local a = t:ok(d:associate())
      t:expect(a.diagnostic_name, "AARE diagnostic before pass 3", REQ.hls)
        :equals("authentication-required")
      t:expect(a.hls_pass3, "result of reply_to_HLS_authentication", REQ.hls):equals(0)
      t:expect(a.accepted, "association after pass 4 (server's f(CtoS) checked)", REQ.hls)
        :is_true()
    end)
    t:step("a ciphered GET", function()
      local v, info = t:ok(d:get(8, "0-0:1.0.0.255", 2))
      t:expect(#v.value, "clock time octets", REQ.clock):equals(12)
      t:expect(info.rx_sc, "security control of the answer (authenticated and encrypted)",
        REQ.ciphering):equals(0x30)
      cosem.finish(t, d)
    end)
  end }

scenario "a wrong LLS password is refused with authentication-failure" {
  tags = { "dlms", "association", "lls", "negative" },
  requirements = { REQ.auth_failure, REQ.outside_association },
  function(t)
    local m <close>, tr = cosem.meter(t)
    local d <close> = cosem.open(t, m, tr, "reader", { password = "11111111" })
    t:step("AARQ with a wrong password", function()
      t:ok(d:connect())
      local a = t:ok(d:associate())
      t:expect(a.accepted, "association", REQ.auth_failure):is_false()
      t:expect(a.result_name, "AARE result", REQ.auth_failure):equals("rejected-permanent")
      t:expect(a.diagnostic_name, "AARE diagnostic", REQ.auth_failure)
        :equals("authentication-failure")
    end)
    t:step("a GET outside an association", function()
      local ans = t:ok(d:apdu(dlms.get_request(3, "1-0:1.8.0.255", 2)))
      local x = dlms.decode_apdu(ans)
      t:expect(x.name, "answer to a GET without an association", REQ.outside_association)
        :equals("exception-response")
      t:ok(d:disconnect())
    end)
  end }
