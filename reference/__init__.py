"""The provider's directory as data: cities, time zones, phones, offices, departments
and their hours, payment methods (the TOML files beside this module). A provider points
``REFERENCE_DIR`` at its own copy. Imports none of ours."""
