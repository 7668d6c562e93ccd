"""AWS Secrets Manager, locally: secrets and their versions in SQLite (`secrets.db`), the
JSON 1.1 API boto3 speaks, and the pieces a template needs (`AWS::SecretsManager::Secret`,
`{{resolve:secretsmanager:...}}`, RDS-managed master passwords)."""
