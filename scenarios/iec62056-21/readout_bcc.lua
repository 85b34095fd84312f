-- The readout's data message: STX, data sets, the end line "!" CR LF, ETX and a block
-- check character that is the XOR of every byte after STX up to and including ETX
-- (IEC 62056-21:2002 6.3.4). Read with raw bytes; the BCC is computed here in Lua.
local flag = require "flag"
local REQ = flag.REQ

scenario "readout data message with a correct BCC" {
  tags = { "iec62056-21", "readout", "bcc" },
  requirements = { REQ.bcc },
  function(t)
    local m <close> = t:meter{}
    local c <close> = m:iec21()
    local msg = t:step("sign on, option select, read the data message", function()
      local id = flag.sign_on(t, c)
      return flag.readout_after(t, c, id)
    end)
    t:step("check the block", function()
      local b = flag.split_block(msg.bytes)
      t:assert(b ~= nil, "a complete block STX ... ETX BCC", REQ.data):is_true()
      t:expect(b.lead, "first character of the data message", REQ.data):equals(flag.STX)
      t:expect(string.format("0x%02X", b.bcc), "BCC of the readout", REQ.bcc)
        :equals(string.format("0x%02X", b.expected_bcc))
      t:expect(b.data, "end of the data block", REQ.data):matches("!\r\n$")
      local sets = flag.datasets(b.data)
      t:measure("data sets in the readout", #sets):in_range(1, 10000, { requirement = REQ.data })
      for i, ds in ipairs(sets) do
        if not ds.address:match("^[%w%-:%.%*&]*$") then
          t:expect(ds.address, "address of data set " .. i, REQ.data):matches("^[%w%-:%.%*&]*$")
        end
      end
    end)
  end }
