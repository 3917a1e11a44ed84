# syntax=docker/dockerfile:1
# Broker: one image for every role (ingress, workers, billing, or all in one process).
#
#   docker build -t broker .
#   docker run --rm -p 4000:4000 broker                         # all roles, in-memory bus
#   docker run --rm broker --role workers --config /app/config.yaml   # needs RABBITMQ_URL
#
# docker-compose.yml runs it three times (ingress, workers, billing) against RabbitMQ,
# PostgreSQL and Redis.

# ---- build ---------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1 \
    NUGET_XMLDOC_MODE=skip
WORKDIR /src
# Node.js and npm build the admin UI (src/Ui) inside `dotnet publish`; it is embedded in the binary
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*

# Repository-wide build settings first: they change rarely, so restore can be cached separately
# from the sources (only src/ is needed for the Host; tests are not built into the image).
COPY global.json Directory.Build.props Directory.Packages.props BannedSymbols.txt .editorconfig ./
COPY src/ src/
RUN dotnet restore src/Host/Broker.Host.csproj
RUN dotnet publish src/Host/Broker.Host.csproj -c Release -o /app --no-restore /p:UseAppHost=false

# ---- runtime -------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1
WORKDIR /app
COPY --from=build /app/ /app/
COPY config.yaml /app/config.yaml
# the image's non-root user (uid 1654 in the .NET 8+ images)
USER $APP_UID
EXPOSE 4000
ENTRYPOINT ["dotnet", "/app/broker.dll"]
CMD ["--config", "/app/config.yaml"]
