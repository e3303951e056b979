"""(being written: see the issue on review's rounds)"""
blueprints: list = []
