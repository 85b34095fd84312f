-- Runner self-test: a Lua error ends the scenario with status error, the file and line,
-- and a traceback. Expected outcome: error, "attempt to call a nil value".
local function helper(x)
  return x.missing_function() -- line 4
end

scenario "selftest: a Lua error ends the scenario with a traceback" {
  tags = { "selftest" },
  function(t)
    t:step("call a missing function", function()
      helper({})
    end)
  end }

scenario "selftest: a misspelt API call names itself" {
  tags = { "selftest" },
  function(t)
    t:step("misspelt", function()
      t:mesure("x", 1)
    end)
  end }

scenario "selftest: an unknown fixture option names itself" {
  tags = { "selftest" },
  function(t)
    local m <close> = t:meter{ modle = "ms3p-direct" }
  end }
