-- NAK and repeat: a repeat-request (NAK) makes the meter send its last message again;
-- a command block with a wrong BCC is answered with NAK (IEC 62056-21:2002 6.3).
-- Raw exchanges in programming mode; blocks and BCCs are built here in Lua.
local flag = require "flag"
local REQ = flag.REQ

-- Sign on raw for programming mode: request, identification, option select Y = 1, P0.
local function enter(t, c)
  local id = flag.sign_on(t, c)
  t:assert(id.type, "answer to the request"):equals("IDENT")
  flag.option_select(c, id.baud_char, "1")
  local p0 = t:ok(c:recv{ timeout_ms = 3000 })
  t:assert(p0.type == "COMMAND" and p0.cmd, "password operand request after Y = 1", REQ.prog)
    :equals("P0")
  return p0
end

local function password(t, c)
  c:send(flag.command("P1", "(" .. t:param("password", "00000000") .. ")"))
  local ack = t:ok(c:recv{ timeout_ms = 3000 })
  t:assert(ack.type, "answer to the right password", REQ.prog):equals("ACK")
end

scenario "the meter repeats its message after a NAK" {
  tags = { "iec62056-21", "nak" },
  requirements = { REQ.nak },
  function(t)
    local m <close> = t:meter{}
    local c <close> = m:iec21()
    local p0 = t:step("sign on for programming mode", function() return enter(t, c) end)
    t:step("NAK the P0 message", function()
      c:send(flag.NAK)
      local again = t:ok(c:recv{ timeout_ms = 3000 })
      t:expect(flag.split_block(again.bytes) ~= nil and again.bytes:sub(again.bytes:find("\1", 1, true) or 1),
        "message repeated after NAK", REQ.nak):equals(p0.bytes:sub(p0.bytes:find("\1", 1, true) or 1))
    end)
    t:step("password, then sign off", function()
      password(t, c)
      c:send(flag.command("B0"))
      t:sleep(100)
    end)
  end }

scenario "a command with a wrong BCC is answered with NAK" {
  tags = { "iec62056-21", "nak", "bcc" },
  requirements = { REQ.nak },
  function(t)
    local m <close> = t:meter{}
    local c <close> = m:iec21()
    t:step("enter programming mode", function()
      enter(t, c)
      password(t, c)
    end)
    t:step("R1 with a wrong BCC", function()
      c:send(flag.command("R1", "1.8.0()", true))
      local a = c:recv{ timeout_ms = 3000 }
      t:expect(a and a.type or "silence", "answer to a block with a wrong BCC", REQ.nak)
        :equals("NAK")
    end)
    t:step("the same R1 with the right BCC", function()
      c:send(flag.command("R1", "1.8.0()"))
      local a = t:ok(c:recv{ timeout_ms = 3000 })
      t:expect(a.type, "answer to R1"):equals("DATA")
      t:expect(a.bcc_ok, "BCC of the answer", REQ.bcc):is_true()
      t:expect(a.data, "R1 answer"):matches("^[^()]*%(.*%)")
    end)
    t:step("sign off", function()
      c:send(flag.command("B0"))
      t:sleep(100)
    end)
  end }
