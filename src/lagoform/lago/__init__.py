"""lagoform.lago"""
