using System.Net;
using StackExchange.Redis;

namespace RactoGateway.Redis.Connection;

/// <summary>
/// Turns what users write to name a server into StackExchange.Redis options: <c>redis://[user:password@]host[:port][/db]</c>,
/// <c>rediss://</c> for TLS, or a plain StackExchange.Redis configuration string such as <c>host:port,host:port,password=...</c>.
/// Also describes endpoints for messages, never with a password.
/// </summary>
internal static class RedisEndpoint
{
    private const int DefaultPort = 6379;

    /// <summary>
    /// Try to reconnect on every heartbeat (once a second) while Redis is away. StackExchange.Redis's default exponential
    /// backoff, after a few seconds down, waits up to 2 s more once Redis is back; this makes the first call succeed
    /// within about a second of the restart (docs/reliability.md, "Outage").
    /// </summary>
    private static readonly IReconnectRetryPolicy ReconnectEveryHeartbeat = new LinearRetry(500);

    /// <summary>Parses <paramref name="url"/>; throws <see cref="ArgumentException"/> naming <c>url</c> when it is malformed.</summary>
    public static ConfigurationOptions Parse(string url)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        ConfigurationOptions options;
        if (url.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase))
        {
            options = ParseUrl(url);
        }
        else
        {
            try
            {
                options = ConfigurationOptions.Parse(url);
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"Not a Redis URL or StackExchange.Redis configuration string: {ex.Message}", nameof(url), ex);
            }

            if (options.EndPoints.Count == 0)
            {
                throw new ArgumentException("The Redis configuration names no endpoint (expected host:port).", nameof(url));
            }

            options.ReconnectRetryPolicy = ReconnectEveryHeartbeat;

            // Keep an explicit abortConnect; otherwise do not fail construction while Redis is briefly down.
            if (url.Contains("abortConnect", StringComparison.OrdinalIgnoreCase))
            {
                return options;
            }
        }

        // A memory object created while Redis is restarting must work once it is back, not throw for ever.
        options.AbortOnConnectFail = false;
        options.ReconnectRetryPolicy = ReconnectEveryHeartbeat;
        return options;
    }

    /// <summary>The endpoints of <paramref name="options"/> as <c>host:port[,host:port]</c>; passwords never appear.</summary>
    public static string Describe(ConfigurationOptions options) => Describe(options.EndPoints);

    /// <summary>Endpoints as <c>host:port[,host:port]</c>.</summary>
    public static string Describe(IEnumerable<EndPoint> endPoints) => string.Join(",", endPoints.Select(Describe));

    /// <summary>One endpoint as <c>host:port</c> (IPv6 in brackets).</summary>
    public static string Describe(EndPoint endPoint) => endPoint switch
    {
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        IPEndPoint ip => ip.ToString(),
        _ => endPoint.ToString() ?? "?",
    };

    private static ConfigurationOptions ParseUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException($"Malformed Redis URL (expected redis://[user:password@]host[:port][/db]): {Redact(url)}", nameof(url));
        }

        var options = new ConfigurationOptions { Ssl = uri.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase) };
        var port = uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port;
        var host = uri.Host.Trim('[', ']');
        if (IPAddress.TryParse(host, out var address))
        {
            options.EndPoints.Add(new IPEndPoint(address, port));
        }
        else
        {
            options.EndPoints.Add(host, port);
            if (options.Ssl)
            {
                options.SslHost = host;
            }
        }

        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            var user = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            var password = colon < 0 ? null : Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            if (password is null)
            {
                // redis://secret@host is how many clients spell a password without a user.
                options.Password = user;
            }
            else
            {
                options.User = user.Length > 0 ? user : null;
                options.Password = password;
            }
        }

        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            if (!int.TryParse(path, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var db))
            {
                throw new ArgumentException($"The database in a Redis URL must be a number (was '{path}').", nameof(url));
            }

            options.DefaultDatabase = db;
        }

        return options;
    }

    /// <summary><paramref name="url"/> with any password replaced by <c>***</c>.</summary>
    public static string Redact(string url)
    {
        var at = url.LastIndexOf('@');
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (at < 0 || scheme < 0 || at < scheme)
        {
            return url.Contains("password", StringComparison.OrdinalIgnoreCase) ? "(configuration string with a password)" : url;
        }

        var userInfo = url[(scheme + 3)..at];
        var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
        var redacted = colon < 0 ? "***" : userInfo[..colon] + ":***";
        return url[..(scheme + 3)] + redacted + url[at..];
    }
}
