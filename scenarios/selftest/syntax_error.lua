-- Runner self-test: a file with a syntax error fails as one scenario with the file and
-- line; the rest of the run goes on. Expected outcome: error, "syntax_error.lua:6:".
scenario "selftest: never declared" {
  tags = { "selftest" },
  function(t)
    local x = = 1
  end }
