-- The identification message: "/" XXX Z ["\" W] identification CR LF, with a three-letter
-- manufacturer's ID, a baud rate character and at most 16 printable characters other
-- than "/" and "!" (IEC 62056-21:2002 6.3.2).
local flag = require "flag"
local mb = require "mb"
local REQ = flag.REQ

scenario "identification message format" {
  tags = { "iec62056-21", "identification" },
  requirements = { REQ.ident },
  function(t)
    local m <close> = t:meter{}
    local c <close> = m:iec21()
    local id = t:step("sign on", function() return flag.sign_on(t, c) end)
    t:step("check the identification", function()
      local line = id.bytes
      t:assert(line, "identification line", REQ.ident):matches("\r\n$")
      local f = flag.parse_ident(line)
      t:assert(f ~= nil, "identification /XXXZ[\\W]ident CR LF (got " .. mb.text(line) .. ")",
        REQ.ident):is_true()
      t:measure("manufacturer's identification", f.manufacturer):matches("^%a%a%a$",
        { requirement = REQ.ident })
      t:measure("baud rate character Z", f.z):matches("^[%w]$", { requirement = REQ.ident })
      t:measure("identification length", #f.ident, "characters")
        :in_range(1, 16, { requirement = REQ.ident })
      t:expect(f.ident:find("[/!]"), "position of '/' or '!' in the identification", REQ.ident)
        :is_nil()
      t:expect(f.ident, "identification characters", REQ.ident):matches("^[%g ]+$")
      local mode = (flag.RATE_B[f.z] and "B") or (flag.RATE_C[f.z] and "C/E") or "A"
      t:measure("protocol mode from Z", mode):record()
    end)
    t:step("readout after the sign-on", function()
      t:expect(flag.readout_after(t, c, id).type, "message after the option select")
        :equals("DATA")
    end)
  end }
