extension Settings {
    /// Every known key with its default. A key that is not here is a mistake in the
    /// configuration and is rejected by name, except under the free-form maps.
    public static let defaultsJSON = """
    {
      "PublicBaseUrl": "https://localhost:8443/fhir",
      "Database": { "Provider": "Sqlite", "Path": "var/db/atr.sqlite", "BusyTimeout": 30000, "ConnectionString": "", "PasswordFile": "" },
      "FastCGI": { "Socket": "var/run/atr-fcgi.sock", "Threads": 4 },
      "RequestBodyLimit": 104857600,
      "RequestJsonLimits": { "MaxDepth": 100, "MaxElements": 5000000 },
      "Logging": { "Level": "info" },
      "Metrics": { "Listen": "127.0.0.1:9464" },
      "Audit": { "RetentionPeriod": "2191.12:00:00" },
      "History": { "RetentionPeriod": "3652.12:00:00" },
      "BulkDataExport": {
        "RepeatPeriod": 60000,
        "FileRetentionPeriod": "1.00:00:00",
        "CleanupCheckInterval": "00:10:00",
        "RetryLimit": 3,
        "AdditionalResourcesMaxRecursionDepth": 2,
        "LeaseDuration": "00:05:00",
        "MaxFileSize": 268435456,
        "BatchSize": 1000,
        "RequiresAccessToken": true,
        "MaxKickoffParameters": 1000,
        "MaxActiveTasksPerClient": 10,
        "MaxPatients": 1000,
        "MaxGroupMembers": 2000000,
        "EarlyPollsAllowed": 5,
        "MaxParallelExports": 0
      },
      "TaskFileManagement": {
        "StorageService": { "StorageType": "LocalFile", "StoragePath": "var/tasks" }
      },
      "SmartAuthorizationOptions": {
        "Enabled": true,
        "BuiltInAuthorizationServer": true,
        "Issuer": "",
        "Audience": "",
        "TokenLifetime": 300,
        "SigningKeyFile": "var/secrets/token-signing-key.pem",
        "JwksUrl": "",
        "TokenEndpoint": "",
        "JwksFetchTimeout": 5000,
        "TokenRequestsPerMinute": 60
      },
      "SignedUrls": { "SecretFile": "var/secrets/url-signing.key", "Lifetime": "01:00:00" },
      "ResourceRedactionOptions": {
        "Redactions": {
          "hl7.fhir.us.davinci-atr": {
            "FhirVersions": ["Fhir4.0"],
            "OmitElements": ["descendants().where($this is Money)", "Coverage.costToBeneficiary"]
          }
        }
      }
    }
    """

    /// Paths whose children are names chosen by the user rather than settings keys.
    static let freeFormPaths: Set<String> = ["ResourceRedactionOptions.Redactions"]
}
