"""Platform data every service needs: the operator-published working-day calendars."""
