-- Segmentation (IEC 62056-46 6.4.5): an APDU longer than the maximum information field
-- travels in I frames with the segmentation bit, each acknowledged (window 1) — both
-- from the meter (the object list) and to it (a long SET).
local dlms = require "dlms"
local H = require "hdlctest"
local cosem = require "cosem"
local REQ = H.REQ

scenario "the object list arrives in segmented I frames" {
  tags = { "hdlc", "segmentation" },
  requirements = { REQ.segmentation },
  function(t)
    local m <close> = H.meter(t)
    local d <close> = H.session(m, { max_info = 128 })
    t:step("associate as the public client", function()
      t:ok(d:connect())
      t:assert(t:ok(d:associate()).accepted, "association", cosem.REQ.aarq):is_true()
    end)
    t:step("GET the object list", function()
      local list, info = t:ok(d:object_list())
      t:log(string.format("%d objects in %d I frames, %d segmented, %d blocks", #list,
        info.i_frames_rx, info.segmented_rx, info.blocks))
      t:expect(info.segmented_rx, "I frames with the segmentation bit", REQ.segmentation):gt(1)
      t:expect(info.max_info_rx, "longest information field", REQ.segmentation):le(128)
      t:expect(info.i_frames_rx - info.segmented_rx, "last segments (one per APDU)",
        REQ.segmentation):equals(info.apdus_rx)
      t:expect(info.rr_rx, "RR frames from the meter", REQ.segmentation):equals(0)
      cosem.finish(t, d)
    end)
  end }

-- Twelve day profiles (rate 1 from 00:00, rate 2 from 12:00): about 500 octets.
local function day_profiles()
  local days = {}
  for id = 1, 12 do
    days[id] = dlms.structure{ dlms.u8(id), dlms.array{
      dlms.structure{ dlms.hex("00000000"), dlms.obis("0-0:10.0.100.255"), dlms.u16(1) },
      dlms.structure{ dlms.hex("0C000000"), dlms.obis("0-0:10.0.100.255"), dlms.u16(2) } } }
  end
  return dlms.array(days)
end

scenario "a long SET is sent in segments and accepted" {
  tags = { "hdlc", "segmentation", "set" },
  requirements = { REQ.segmentation, cosem.REQ.set },
  sim_only = true,
  function(t)
    local m <close> = H.meter(t)
    local d <close> = H.session(m, cosem.client(t, "management"))
    t:step("associate as the management client", function() cosem.associate(t, d) end)
    t:step("SET the passive day profile table (about 500 octets)", function()
      local v = day_profiles()
      t:measure("value", #dlms.encode(v), "octets"):record()
      local r, info = t:ok(d:set(20, "0-0:13.0.0.255", 9, v))
      t:expect(r.name, "SET result", cosem.REQ.set):equals("success")
      t:expect(info.segmented_tx, "I frames sent with the segmentation bit", REQ.segmentation):gt(2)
      t:expect(info.max_info_tx, "longest information field sent", REQ.segmentation):le(128)
      t:expect(info.rr_rx, "RR from the meter for each segment (window 1)", REQ.segmentation)
        :equals(info.segmented_tx)
      local back = t:ok(d:get(20, "0-0:13.0.0.255", 9))
      t:expect(#back, "day profiles read back", cosem.REQ.calendar):equals(12)
      cosem.finish(t, d)
    end)
  end }
