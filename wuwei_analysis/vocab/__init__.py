"""The workbench's vocabulary: what users read, defined once.

- ``vocab.numbers``: the number-and-unit formatter (values, changes, ranges, probabilities),
  used by briefs, app, CLI and downloads alike.
- ``vocab.labels``: status, target-kind and warning codes with their Chinese labels, colours
  and fonts.
- ``vocab.messages``: the message catalogue (every Chinese sentence as a template).

Import the submodule you need (``from wuwei_analysis.vocab.numbers import format_value``);
this package imports nothing of the project above ``catalog`` data.
"""
