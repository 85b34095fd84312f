-- Runner self-test: a failed expectation fails the scenario, says what was expected and
-- what came, and names the requirement. Expected outcome: failed.
scenario "selftest: a failed expectation fails the scenario" {
  tags = { "selftest" },
  requirements = { "selftest requirement 1.2.3" },
  function(t)
    t:step("two and two", function()
      t:expect(2 + 2, "two and two"):equals(5)
    end)
    t:step("never runs: the scenario stops at the first failing step", function()
      t:fail("this step must not run")
    end)
  end }

scenario "selftest: a measurement outside its limits fails the scenario" {
  tags = { "selftest" },
  function(t)
    t:step("measure", function()
      t:measure("selftest reaction time", 1633, "ms")
        :in_range(200, 1500, { requirement = "selftest clause tr" })
    end)
  end }

scenario "selftest: a step that fails every attempt is retried, then fails" {
  tags = { "selftest" },
  function(t)
    local tries = 0
    t:step("flaky", { retry = 2, continue = true }, function()
      tries = tries + 1
      t:expect(tries, "attempt"):gt(10)
    end)
    t:step("runs after a failed step with continue", function()
      t:measure("attempts made", tries):equals(3)
    end)
  end }
