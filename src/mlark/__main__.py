from mlark.cli.main import run

run()
