namespace RactoGateway.Redis.Testing.Servers;

/// <summary>A real Redis-compatible server on a loopback port, owned by a test fixture.</summary>
public interface ITestServer : IAsyncDisposable
{
    /// <summary>Client timeouts for tests that are not about timeouts: generous, so that a loaded machine makes a call
    /// slow, never a failure. A test's own deadline comes from its cancellation token or xunit's timeout.</summary>
    public const string GenerousTimeouts = ",connectTimeout=10000,syncTimeout=30000,asyncTimeout=30000";

    /// <summary>"redis", "garnet", ...: shown in test names.</summary>
    string Name { get; }

    /// <summary>The loopback port it listens on (kept across <see cref="StopAsync"/>/<see cref="StartAsync"/>).</summary>
    int Port { get; }

    /// <summary>The StackExchange.Redis endpoints and credentials, without timeouts.</summary>
    string Endpoints => $"127.0.0.1:{Port}";

    /// <summary>A StackExchange.Redis configuration string for it, with <see cref="GenerousTimeouts"/>.</summary>
    string ConnectionString => Endpoints + GenerousTimeouts;

    /// <summary>A configuration string whose connect, sync and async timeouts are all <paramref name="timeout"/>: for the
    /// tests that are about a call failing in time (an outage, a failover).</summary>
    string ConnectionStringWithTimeout(TimeSpan timeout)
    {
        var ms = ((int)timeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return $"{Endpoints},connectTimeout={ms},syncTimeout={ms},asyncTimeout={ms}";
    }

    /// <summary>The endpoints and credentials of a user with every permission (the same unless ACLs restrict <see cref="Endpoints"/>).</summary>
    string AdminEndpoints => Endpoints;

    /// <summary>A connection string with every permission, for tests that inspect Redis directly (the same unless ACLs restrict <see cref="ConnectionString"/>).</summary>
    string AdminConnectionString => AdminEndpoints + GenerousTimeouts;

    /// <summary>Starts the server (again, on the same port) and waits until it answers PING.</summary>
    Task StartAsync();

    /// <summary>Stops the server abruptly, as a crash would.</summary>
    Task StopAsync();
}
