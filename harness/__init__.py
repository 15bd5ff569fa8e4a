"""What the tests and the bench scripts both drive: the local stack, seeded fault scenarios,
fuzz inputs and a hang detector. Development only: the function app never imports it."""
