-- Parameter negotiation in SNRM/UA (IEC 62056-46 6.4.4.4.3.2): without a parameter field
-- the defaults hold; a smaller proposal is accepted and used; a larger one is cut to what
-- the meter can do.
local hdlc = require "hdlc"
local H = require "hdlctest"
local cosem = require "cosem"
local REQ = H.REQ

scenario "SNRM without parameters: the defaults 128 and 1" {
  tags = { "hdlc", "negotiation" },
  requirements = { REQ.params },
  function(t)
    local m <close> = H.meter(t)
    local d <close> = H.session(m)
    t:step("SNRM without an information field", function()
      local ua = H.snrm(t, d, false)
      local p = ua.params or {}
      t:expect(p.max_info_tx or 128, "max information field, meter transmit", REQ.params):equals(128)
      t:expect(p.max_info_rx or 128, "max information field, meter receive", REQ.params):equals(128)
      t:expect(p.window_tx or 1, "window, meter transmit", REQ.params):equals(1)
      t:expect(p.window_rx or 1, "window, meter receive", REQ.params):equals(1)
    end)
  end }

scenario "a smaller information field is accepted and used" {
  tags = { "hdlc", "negotiation", "segmentation" },
  requirements = { REQ.params, REQ.segmentation },
  function(t)
    local m <close> = H.meter(t)
    local d <close> = H.session(m, { client = 17, auth = "lls",
      password = t:param("lls_password", "00000000"), max_info = 64 })
    t:step("SNRM proposing 64 octets both ways", function()
      local p = t:ok(d:connect())
      t:expect(p.max_info_rx, "negotiated: client receive (meter transmit)", REQ.params):equals(64)
      t:expect(p.max_info_tx, "negotiated: client transmit (meter receive)", REQ.params):equals(64)
    end)
    t:step("the meter's I frames keep to 64 octets", function()
      t:ok(d:associate())
      local v, info = t:ok(d:get(15, "0-0:40.0.0.255", 3))
      t:expect(v.type, "associated_partners_id", cosem.REQ.association):equals("structure")
      local c = t:ok(d:get(8, "0-0:1.0.0.255", 2))
      local l, linfo = t:ok(d:get(7, "1-0:99.1.0.255", 3)) -- capture_objects: > 64 octets
      t:expect(linfo.segmented_rx, "segmented I frames of an answer longer than 64 octets",
        REQ.segmentation):gt(0)
      t:expect(linfo.max_info_rx, "longest information field received", REQ.params):le(64)
      cosem.finish(t, d)
    end)
  end }

scenario "a larger proposal is cut to what the meter can do" {
  tags = { "hdlc", "negotiation" },
  requirements = { REQ.params },
  function(t)
    local m <close> = H.meter(t)
    local d <close> = H.session(m)
    t:step("SNRM proposing 2030 octets and window 7", function()
      local ua = H.snrm(t, d, { max_info_tx = 2030, max_info_rx = 2030, window_tx = 7, window_rx = 7 })
      local p = ua.params or {}
      t:expect(p.max_info_tx, "meter transmit: at most its own 128", REQ.params):equals(128)
      t:expect(p.max_info_rx, "meter receive: at most its own 128", REQ.params):equals(128)
      t:expect(p.window_tx, "window, meter transmit: at most its own 1", REQ.params):equals(1)
      t:expect(p.window_rx, "window, meter receive: at most its own 1", REQ.params):equals(1)
    end)
  end }
