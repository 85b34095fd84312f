-- GET of every object in the management client's object list, every readable attribute,
-- with the Blue Book types of the classes; the object list itself arrives in blocks.
-- Over HDLC on the pty (paced at 19200 Bd) the full walk takes half a minute: there
-- every object's logical_name and every attribute of the first object of each class is
-- read instead (--param full=true reads everything there too).
local dlms = require "dlms"
local cosem = require "cosem"
local REQ = cosem.REQ

scenario "every object of the object list reads with its Blue Book types" {
  tags = { "dlms", "object-list", "types" },
  requirements = { REQ.association, REQ.get, REQ.logical_name, REQ.data, REQ.register,
    REQ.profile, REQ.clock, REQ.disconnect },
  timeout_ms = 150000,
  function(t)
    local m <close>, tr = cosem.meter(t)
    local d <close> = cosem.open(t, m, tr, "management")
    local full = tr ~= "hdlc-pty" or t:param("full", "false") == "true"
    local list
    t:step("associate and read the object list", function()
      cosem.associate(t, d)
      local info
      list, info = t:ok(d:object_list())
      cosem.check_type(t, 15, "0-0:40.0.0.255", 2, info.value)
      t:measure("objects in the management object list", #list):in_range(10, 10000,
        { requirement = REQ.association })
      local seen = {}
      for _, o in ipairs(list) do
        t:expect(seen[o.obis], "object " .. o.obis .. " listed once", REQ.association):is_nil()
        seen[o.obis] = true
        t:expect(#o.attributes >= 1 and o.attributes[1].id == 1, o.obis .. " lists attribute 1 first",
          REQ.association):is_true()
      end
    end)
    t:step("GET every readable attribute", { timeout_ms = 140000 }, function()
      local first_of_class, gets, refused = {}, 0, {}
      for _, o in ipairs(list) do
        local deep = full or not first_of_class[o.class_id]
        first_of_class[o.class_id] = true
        for _, a in ipairs(o.attributes) do
          if cosem.READABLE[a.access] and (deep or a.id == 1) then
            local sel
            -- profile buffers: the newest entries only, by entry (keeps the walk short)
            if o.class_id == 7 and a.id == 2 then sel = { from_entry = 1, to_entry = 4 } end
            local v = t:ok(d:get(o.class_id, o.obis, a.id, sel))
            gets = gets + 1
            if v.dar then
              refused[#refused + 1] = string.format("%d/%s/%d: %s", o.class_id, o.obis, a.id, v.name)
            else
              cosem.check_type(t, o.class_id, o.obis, a.id, v)
            end
          end
        end
      end
      t:measure("attributes read", gets):record()
      t:expect(table.concat(refused, "; "), "readable attributes answered with a data-access-result",
        REQ.get):equals("")
    end)
    t:step("release", function() cosem.finish(t, d) end)
  end }

scenario "the object list arrives in blocks when longer than the max PDU" {
  tags = { "dlms", "block-transfer" },
  requirements = { REQ.block },
  function(t)
    local m <close>, tr = cosem.meter(t)
    local d <close> = cosem.open(t, m, tr, "reader")
    t:step("associate", function() cosem.associate(t, d) end)
    t:step("GET the object list", function()
      local max_pdu = d.max_pdu
      local list, info = t:ok(d:object_list())
      local size = #dlms.encode(info.value)
      t:measure("object list, encoded", size, "octets"):record()
      t:log(string.format("%d objects, %d octets, server max PDU %d, %d blocks", #list, size,
        max_pdu, info.blocks))
      t:expect(size > max_pdu, "object list longer than the max PDU " .. max_pdu, REQ.block):is_true()
      t:expect(info.blocks, "GET-Response-With-Datablock blocks", REQ.block)
        :ge(math.ceil(size / max_pdu))
      t:expect(info.apdus_rx, "answers (one per block)", REQ.block):equals(info.blocks)
      t:expect(info.apdus_tx, "requests (GET-Request-Normal, then GET-Request-Next)", REQ.block)
        :equals(info.blocks)
      cosem.finish(t, d)
    end)
  end }
