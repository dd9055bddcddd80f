"""What the tests share besides fixtures: servers that misbehave, clients, process handling and waiting.

``pyproject.toml`` puts ``tests/`` on ``sys.path`` (pytest's ``pythonpath``), so tests import
``from helpers.waiting import wait_until``; ``conftest.py`` keeps only the fixtures.
"""
