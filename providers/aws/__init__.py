"""AWS EC2: one VM per workspace (providers.aws.provider.AwsProvider)."""
