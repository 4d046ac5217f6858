"""lagoform.github"""
